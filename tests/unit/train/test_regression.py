"""A regressor's one number per row: its metrics, its tuning, its ONNX graph and its profile."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from shipyard.batch.predict import score_frame
from shipyard.config.schema import TuningConfig
from shipyard.errors import PipelineError
from shipyard.pipeline import RunContext
from shipyard.project import Project
from shipyard.train import regression_metrics, split, train_regressor
from shipyard.train.compiled import CompiledModel, compile_model
from shipyard.train.outputs import outputs, task_of
from shipyard.train.profile import ReferenceProfile, build_profile


def flats(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Flats and their rents: a number with gaps, a count and a category, with noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"area": rng.gamma(6.0, 12.0, n).round(1),
                          "rooms": rng.integers(1, 6, n),
                          "city": rng.choice(["oslo", "bergen", "tromso"], n)})
    rent = (14 * frame["area"] + 150 * frame["rooms"]
            + frame["city"].map({"oslo": 900, "bergen": 400, "tromso": 0})
            + rng.normal(0, 150, n))
    frame.loc[frame.index % 7 == 0, "area"] = np.nan
    return frame, rent.rename("rent")


def regressor(final: object) -> Pipeline:
    scale = [StandardScaler()] if isinstance(final, Ridge) else []
    return Pipeline([("features", ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), *scale), ["area", "rooms"]),
        ("text", OneHotEncoder(handle_unknown="ignore"), ["city"])])), ("regressor", final)])


@pytest.mark.parametrize("seed", [0, 1])
def test_regression_metrics_equal_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(50, 20, 300)
    v = y + rng.normal(0, 5, 300)
    got = regression_metrics(y, v)
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, v)))
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, v))
    assert got["r2"] == pytest.approx(skm.r2_score(y, v))
    assert np.isnan(regression_metrics(np.ones(4), np.arange(4.0))["r2"])  # no variance


def test_a_regressor_answers_its_values_and_a_classifier_its_probabilities() -> None:
    X, y = flats(300, seed=1)
    ridge = regressor(Ridge()).fit(X, y)
    assert task_of(ridge) == "regression"
    np.testing.assert_array_equal(outputs(ridge, X), ridge.predict(X))
    labels = (y > y.median()).astype(int)
    logistic = make_pipeline(regressor(Ridge()).steps[0][1], LogisticRegression(max_iter=500))
    logistic.fit(X, labels)
    assert task_of(logistic) == "classification"
    np.testing.assert_array_equal(outputs(logistic, X), logistic.predict_proba(X)[:, 1])
    assert task_of(object()) == "classification"  # not scikit-learn: scored as before


@pytest.mark.parametrize("final", [Ridge(alpha=2.0), GradientBoostingRegressor(
    n_estimators=80, max_depth=3, random_state=0)], ids=["ridge", "gradient_boosting"])
def test_the_graph_gives_the_regressors_values_and_batch_scoring_uses_it(final: object) -> None:
    X, y = flats(500, seed=2)
    test, _ = flats(200, seed=3)
    model = regressor(final).fit(X, y)
    graph, check = compile_model(model, test)
    assert graph is not None, check.reason
    assert check.path == "onnx" and check.task == "regression"
    assert check.describe().startswith("onnx (max |Δy| ")
    expected = model.predict(test)
    np.testing.assert_allclose(CompiledModel(graph).predict_frame(test), expected,
                               atol=check.tolerance)
    scored = score_frame(model, test, compiled=CompiledModel(graph))
    assert "probability" not in scored.columns
    np.testing.assert_allclose(scored["prediction"], expected, atol=check.tolerance)


def test_a_regressors_profile_bins_its_values_by_their_own_quantiles() -> None:
    X, y = flats(400, seed=4)
    model = regressor(Ridge()).fit(X, y)
    profile = build_profile(X, model.predict(X), task="regression")
    assert profile.output is not None and profile.output.edges is not None
    assert min(profile.output.edges) > 1  # rents, not probabilities in [0, 1]
    assert max(profile.output.counts) < 0.1 * len(X)  # spread over its bins
    again = ReferenceProfile.from_json(profile.to_json())
    assert again.task == "regression" and again.logged_output == "prediction"
    written_before = json.loads(profile.to_json())
    del written_before["task"]  # a profile written before regressors: a classifier's
    assert ReferenceProfile.from_json(json.dumps(written_before)).logged_output == "probability"


def context(tmp_path: Path, metric: str, direction: str = "minimize") -> RunContext:
    (tmp_path / "shipyard.yaml").write_text("project: rents\nenvironments:\n  dev: {lake: lake}\n")
    tuning = TuningConfig(metric=metric, direction=direction, trials=3, space={
        "alpha": {"low": 0.01, "high": 100, "log": True}})
    return RunContext(run_id="run-1", pipeline="train", step="fit",
                      project=Project.open(tmp_path, "dev"), env="dev", params={}, smoke=False,
                      sample=None, tuning=tuning, tracking_run_id=None, data_versions={})


def test_train_regressor_tunes_tests_and_scores_the_mean_baseline(tmp_path: Path) -> None:
    X, y = flats(600, seed=5)
    data = split(X.assign(rent=y), "rent", seed=0)
    trained = train_regressor("rents", lambda p: regressor(Ridge(alpha=p.get("alpha", 1.0))),
                              data, context(tmp_path, "rmse"))
    assert trained.task == "regression" and set(trained.params) == {"alpha"}
    m = trained.metrics
    assert m["rmse"] < 0.5 * m["mean.rmse"] and m["r2"] > 0.7
    mean = np.full(len(data.y_test), data.y_fit.mean())
    assert m["mean.mae"] == pytest.approx(skm.mean_absolute_error(data.y_test, mean))
    with pytest.raises(PipelineError, match=r"tuning.metric: 'roc_auc' is not a regression "
                                            r"metric; expected one of rmse, mae, r2"):
        train_regressor("rents", lambda p: regressor(Ridge()), data, context(tmp_path, "roc_auc"))
    with pytest.raises(PipelineError, match=r"tuning.direction is maximize but rmse is "
                                            r"lower-is-better; set direction: minimize"):
        train_regressor("rents", lambda p: regressor(Ridge()), data,
                        context(tmp_path, "rmse", "maximize"))


def test_a_text_target_is_refused_naming_it(tmp_path: Path) -> None:
    X, _ = flats(200, seed=6)
    data = split(X.rename(columns={"city": "label"}), "label", seed=0)
    with pytest.raises(PipelineError, match=r"a regressor's target must be numeric; 'label' is "):
        train_regressor("rents", lambda p: Ridge(), data, context(tmp_path, "rmse"))
