"""Training helpers: metrics equal scikit-learn's, splits, tuning, TrainedModel round trip."""

from __future__ import annotations

from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from sklearn import metrics as skm
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from shipyard.errors import PipelineError
from shipyard.train import TrainedModel, classification_metrics, split
from shipyard.train.persist import load_estimator, trusted_types


def frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"id": range(n), "x": x, "z": rng.normal(size=n),
                         "day": rng.permutation(n),
                         "y": (x + rng.normal(scale=0.8, size=n) > 0).astype(int)})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_equal_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    p = np.round(rng.random(300), 2)  # rounded: ties, which AUC must count as half
    got = classification_metrics(y, p)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, p >= 0.5))
    assert got["f1"] == pytest.approx(skm.f1_score(y, p >= 0.5))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, p))


def test_roc_auc_of_one_class_is_undefined_not_an_error() -> None:
    assert np.isnan(classification_metrics(np.ones(5), np.linspace(0, 1, 5))["roc_auc"])


def test_a_random_split_is_stratified_disjoint_and_drops_ids() -> None:
    data = frame()
    parts = split(data, "y", test_size=0.25, validation_size=0.25, seed=3, drop=["id"])
    assert (len(parts.X_train), len(parts.X_val), len(parts.X_test)) == (200, 100, 100)
    assert "id" not in parts.X_train.columns and "y" not in parts.X_train.columns
    for part in (parts.y_train, parts.y_val, parts.y_test):
        assert part.mean() == pytest.approx(data["y"].mean(), abs=0.03)
    rows = {tuple(r) for r in pd.concat([parts.X_train, parts.X_val]).itertuples(index=False)}
    assert not rows & {tuple(r) for r in parts.X_test.itertuples(index=False)}


def test_a_time_split_tests_on_the_latest_rows() -> None:
    parts = split(frame(), "y", time_column="day", test_size=0.2, validation_size=0.2)
    assert parts.X_train["day"].max() < parts.X_val["day"].min()
    assert parts.X_val["day"].max() < parts.X_test["day"].min()


def test_a_missing_column_is_named() -> None:
    with pytest.raises(PipelineError, match=r"column\(s\) 'label' not in the data"):
        split(frame(), "label")


def gradient_boosting() -> object:
    data = frame()
    return make_pipeline(GradientBoostingClassifier(n_estimators=20, random_state=0)).fit(
        data[["x", "z"]], data["y"])


def test_mlflow_refuses_a_tree_model_unless_its_types_are_trusted(tmp_path: Path) -> None:
    model = gradient_boosting()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.create_experiment("trust", artifact_location=(tmp_path / "artifacts").as_uri())
    mlflow.set_experiment("trust")
    try:
        with mlflow.start_run():
            with pytest.raises(MlflowException, match="untrusted types"):
                mlflow.sklearn.log_model(model, name="plain")
            trusted = trusted_types(model, where="test")
            assert "sklearn.tree._tree.Tree" in trusted
            info = mlflow.sklearn.log_model(model, name="trusted", skops_trusted_types=trusted)
        folder = Path(mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path)))
        loaded = load_estimator(folder / "model.skops")
        X = frame(50, seed=9)[["x", "z"]]
        assert (loaded.predict_proba(X) == model.predict_proba(X)).all()
    finally:
        mlflow.set_tracking_uri("")


def _double(x: np.ndarray) -> np.ndarray:
    return 2 * x


def test_a_model_with_a_user_function_is_refused_naming_the_type() -> None:
    data = frame()
    model = make_pipeline(FunctionTransformer(_double), LogisticRegression()).fit(
        data[["x"]], data["y"])
    with pytest.raises(PipelineError, match=r"test_train\._double"):
        trusted_types(model, where="test")


def test_a_trained_model_round_trips_through_its_folder(tmp_path: Path) -> None:
    data = frame()
    model = gradient_boosting()
    X, y = data[["x", "z"]], data["y"].rename("y")
    trained = TrainedModel(name="m", model=model, metrics={"accuracy": 0.9}, params={"a": 1},
                           input_example=X.head(3), test_X=X, test_y=y, tags={"k": "v"})
    trained.save(tmp_path / "m")
    back = TrainedModel.load(tmp_path / "m")
    assert (back.name, back.metrics, back.params, back.tags) == ("m", {"accuracy": 0.9},
                                                                 {"a": 1}, {"k": "v"})
    pd.testing.assert_frame_equal(back.test_X, X)
    pd.testing.assert_series_equal(back.test_y, y)
    assert (back.predict_scores(X) == trained.predict_scores(X)).all()
