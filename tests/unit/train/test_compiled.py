"""The compiled path: a pipeline's ONNX graph gives its probabilities on the test rows (within
the stated tolerance), from request rows as from a frame; a pipeline skl2onnx cannot convert
falls back to scikit-learn with the reason recorded; the batcher answers with the graph."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from shipyard.batch.predict import score_frame
from shipyard.serving.batching import MicroBatcher
from shipyard.serving.served import Served
from shipyard.train.compiled import TOLERANCE, CompileCheck, CompiledModel, compile_model

INPUTS = [("pclass", "string", True), ("sex", "string", True), ("age", "double", False),
          ("sibsp", "long", False), ("parch", "long", False)]


def passengers(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Titanic-shaped rows: text categories, a number with gaps, small counts."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"pclass": rng.choice(["1st", "2nd", "3rd"], n),
                          "sex": rng.choice(["female", "male"], n),
                          "age": rng.uniform(1, 80, n).round(1),
                          "sibsp": rng.integers(0, 5, n), "parch": rng.integers(0, 4, n)})
    frame.loc[frame.index % 5 == 0, "age"] = np.nan
    label = ((frame.sex == "female") ^ (frame.pclass == "3rd")
             ^ (rng.uniform(size=n) < 0.2)).astype(int)
    return frame, label


def pipeline(classifier: Any, numeric_extra: Any = None) -> Pipeline:
    """As the Titanic example builds it: numbers scaled for a linear model only (a scaled
    number fed to trees may fall on the other side of a split in 32-bit floats than in
    64-bit ones: the check catches that, and scikit-learn serves such a version)."""
    scale = [StandardScaler()] if isinstance(classifier, LogisticRegression) else []
    numeric = make_pipeline(SimpleImputer(strategy="median"), *scale,
                            *([numeric_extra] if numeric_extra is not None else []))
    return Pipeline([("features", ColumnTransformer([
        ("numeric", numeric, ["age", "sibsp", "parch"]),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), ["pclass", "sex"])])),
        ("classifier", classifier)])


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    train, label = passengers(600, seed=1)
    test, _ = passengers(250, seed=2)
    return train, label, test


@pytest.mark.parametrize("classifier", [
    LogisticRegression(C=3.0, max_iter=1000),
    GradientBoostingClassifier(n_estimators=120, max_depth=4, random_state=0)],
    ids=["logistic_regression", "gradient_boosting"])
def test_the_graph_gives_the_pipelines_probabilities_on_the_test_rows(
        data: tuple[pd.DataFrame, pd.Series, pd.DataFrame], classifier: Any) -> None:
    train, label, test = data
    model = pipeline(classifier).fit(train, label)
    graph, check = compile_model(model, test)
    assert graph is not None, check
    assert check.path == "onnx" and check.rows == len(test)
    assert check.max_abs_diff is not None and check.max_abs_diff <= TOLERANCE
    assert "onnx (max |Δp|" in check.describe()
    assert CompileCheck.from_json(check.to_json()) == check
    compiled = CompiledModel(graph)
    expected = model.predict_proba(test)[:, 1]
    np.testing.assert_allclose(compiled.predict_frame(test), expected, rtol=0, atol=TOLERANCE)
    # Request rows as the server parses them from JSON: a missing age is None.
    rows = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in test.astype(object).to_dict(orient="records")]
    np.testing.assert_allclose(compiled.predict_rows(rows), expected, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(compiled.predict_rows(rows[:1]), expected[:1], rtol=0,
                               atol=TOLERANCE)


def test_a_pipeline_skl2onnx_cannot_convert_falls_back_with_the_reason(
        data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> None:
    train, label, test = data
    model = pipeline(LogisticRegression(), FunctionTransformer(np.arcsinh)).fit(train, label)
    graph, check = compile_model(model, test)
    assert graph is None
    assert check.path == "sklearn"
    assert "conversion failed" in check.reason and "FunctionTransformer" in check.reason
    assert check.describe().startswith("sklearn (conversion failed")
    # the batch command then scores with the pipeline, as before
    scored = score_frame(model, test, compiled=None)
    np.testing.assert_array_equal(scored.probability, model.predict_proba(test)[:, 1])


def test_a_graph_that_differs_beyond_the_tolerance_is_not_kept(
        data: tuple[pd.DataFrame, pd.Series, pd.DataFrame],
        monkeypatch: pytest.MonkeyPatch) -> None:
    train, label, test = data
    model = pipeline(LogisticRegression()).fit(train, label)
    monkeypatch.setattr(CompiledModel, "predict_frame",
                        lambda self, frame: model.predict_proba(frame)[:, 1] + 1e-3)
    graph, check = compile_model(model, test)
    assert graph is None and check.path == "sklearn"
    assert "differs from the pipeline by 0.001" in check.reason
    assert check.max_abs_diff == pytest.approx(1e-3)


@pytest.fixture(scope="module")
def linear(data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]
           ) -> tuple[Pipeline, CompiledModel, CompileCheck]:
    """A logistic regression pipeline, its checked graph in a session, and the check."""
    train, label, test = data
    model = pipeline(LogisticRegression()).fit(train, label)
    graph, check = compile_model(model, test)
    assert graph is not None
    return model, CompiledModel(graph), check


def test_batch_scoring_uses_the_graph(data: tuple[pd.DataFrame, pd.Series, pd.DataFrame],
                                      linear: tuple[Pipeline, CompiledModel, CompileCheck]
                                      ) -> None:
    test = data[2]
    model, compiled, _ = linear
    scored = score_frame(model, test, compiled=compiled)
    np.testing.assert_array_equal(scored.probability, compiled.predict_frame(test))
    assert (scored.prediction == (scored.probability >= 0.5)).all()


def test_the_batcher_answers_with_the_graph(
        linear: tuple[Pipeline, CompiledModel, CompileCheck]) -> None:
    model, compiled, check = linear

    class Slots:
        def __init__(self) -> None:
            self.current = {"m": Served("m", 1, model, INPUTS, [], compiled=compiled,
                                        served_by=check.describe())}

    rows = [{"pclass": "1st", "sex": "female", "age": None, "sibsp": 1, "parch": 0},
            {"pclass": "3rd", "sex": "male", "age": 22.5, "sibsp": 0, "parch": 2}]

    async def main() -> list[Any]:
        batcher = MicroBatcher(Slots(), "m", max_size=64, max_wait_ms=20)
        batcher.start()
        answers = await asyncio.gather(*(batcher.predict([row]) for row in rows))
        await batcher.stop()
        return answers

    answers = asyncio.run(main())
    expected = model.predict_proba(pd.DataFrame(rows))[:, 1]
    got = np.array([a.probabilities[0] for a in answers])
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
