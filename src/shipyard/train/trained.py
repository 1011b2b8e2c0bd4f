"""What a training step returns: a fitted model with its evaluation, ready to be registered.

The pipeline stores it between steps (and in its cache) as an artifact type registered here,
and after a successful, non-smoke run the registry's runner hook
(``shipyard.runs.Registration``) hands every ``TrainedModel`` output to the registry
flow, which logs, registers, gates and compares it.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from shipyard.pipeline.artifacts import ArtifactType, register_artifact_type
from shipyard.train.outputs import outputs
from shipyard.train.persist import dump_estimator, load_estimator
from shipyard.train.profile import PROFILE_FILE, ReferenceProfile
from shipyard.train.rows import ROWS_FILE, RowKeys

__all__ = ["TrainedModel"]


@dataclass
class TrainedModel:
    """A fitted model plus everything needed to register it and compare it later.

    Attributes:
        name: Registered model name; must be declared under ``models:`` in shipyard.yaml.
        model: The fitted model (for ``flavor="sklearn"``, an estimator or ``Pipeline``: a
            classifier whose ``predict_proba`` gives scores, or a regressor).
        metrics: Metrics on the test split (e.g. accuracy, roc_auc, f1, log_loss; rmse, mae,
            r2 and the mean baseline's ``mean.rmse``…).
        params: The chosen hyper-parameters.
        input_example: A few rows of model input (for the signature and the docs).
        test_X: The test split's features, kept so a later comparison with the production model
            runs on the same rows; for a recommender, the held-out (user, item) interactions.
        test_y: The test split's labels or targets (None for a recommender).
        task: What kind of model this is; decides which metrics a comparison computes.
        flavor: How it is stored and logged: ``sklearn`` (skops, ``mlflow.sklearn``) or
            ``recommender`` (NumPy arrays, an MLflow pyfunc wrapper).
        profile: What its training inputs and test outputs looked like
            (:mod:`shipyard.train.profile`), logged with the version for monitoring; None for
            a model trained without one (a recommender, or a hand-built ``TrainedModel``).
        rows: The keys of the rows it was fitted or tuned on and of its test rows
            (:mod:`shipyard.train.rows`); None when its rows had no keys. A comparison with
            another version scores both only on rows neither was fitted on.
    """

    name: str
    model: Any
    metrics: dict[str, float]
    params: dict[str, Any]
    input_example: pd.DataFrame
    test_X: pd.DataFrame
    test_y: pd.Series | None
    task: Literal["classification", "regression", "ranking"] = "classification"
    flavor: Literal["sklearn", "recommender"] = "sklearn"
    tags: dict[str, str] = field(default_factory=dict)
    profile: ReferenceProfile | None = None
    rows: RowKeys | None = None

    def predict_scores(self, X: pd.DataFrame) -> Any:
        """What every metric of a tabular model is computed from: positive-class
        probabilities, or a regressor's values (:mod:`shipyard.train.outputs`)."""
        return outputs(self.model, X, "regression" if self.task == "regression"
                       else "classification")

    def save(self, path: Path) -> None:
        """Write to the folder ``path``: the model with skops, tables as Parquet, the rest JSON."""
        path.mkdir(parents=True, exist_ok=True)
        if self.flavor == "recommender":
            self.model.save(path / "recommender")
        else:
            dump_estimator(self.model, path / "model.skops", where=f"model {self.name!r}")
        self.input_example.to_parquet(path / "input_example.parquet")
        self.test_X.to_parquet(path / "test_X.parquet")
        if self.test_y is not None:
            self.test_y.rename("label").to_frame().to_parquet(path / "test_y.parquet")
        meta = {"name": self.name, "metrics": self.metrics, "params": self.params,
                "task": self.task, "flavor": self.flavor, "tags": self.tags,
                "model_class": f"{type(self.model).__module__}:{type(self.model).__qualname__}",
                "label": None if self.test_y is None else self.test_y.name}
        (path / "trained.json").write_text(json.dumps(meta, indent=2, default=str))
        if self.profile is not None:
            (path / PROFILE_FILE).write_text(self.profile.to_json())
        if self.rows is not None:
            self.rows.to_frame().to_parquet(path / ROWS_FILE)

    @staticmethod
    def stored_name(path: Path) -> str:
        """The registered name of the model saved at ``path``, without loading the model:
        a fully reused run asks only whether that name has a version from this step."""
        return str(json.loads((path / "trained.json").read_text())["name"])

    @classmethod
    def load(cls, path: Path) -> TrainedModel:
        """Read back what :meth:`save` wrote."""
        meta = json.loads((path / "trained.json").read_text())
        test_y = None
        if (path / "test_y.parquet").exists():
            test_y = pd.read_parquet(path / "test_y.parquet")["label"].rename(meta["label"])
        if meta["flavor"] == "recommender":
            model = _model_class(meta["model_class"]).load(path / "recommender")
        else:
            model = load_estimator(path / "model.skops")
        profile = (ReferenceProfile.from_json((path / PROFILE_FILE).read_text())
                   if (path / PROFILE_FILE).exists() else None)
        rows = (RowKeys.from_frame(pd.read_parquet(path / ROWS_FILE))
                if (path / ROWS_FILE).exists() else None)
        return cls(name=meta["name"], model=model,
                   metrics=meta["metrics"], params=meta["params"],
                   input_example=pd.read_parquet(path / "input_example.parquet"),
                   test_X=pd.read_parquet(path / "test_X.parquet"), test_y=test_y,
                   task=meta["task"], flavor=meta["flavor"], tags=meta["tags"], profile=profile,
                   rows=rows)


def _model_class(name: str) -> Any:
    """The class a stored recommender names (``module:qualname``; its ``load`` reads it back).

    Named in the file rather than imported here: recommenders live in ``shipyard.recsys``, a
    layer above this one. Only Shipyard's own classes are loaded this way.
    """
    module, _, qualname = name.partition(":")
    if not module.startswith("shipyard."):
        raise ValueError(f"refusing to load a model of class {name!r}: not a Shipyard class")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def _save_trained(value: TrainedModel, path: Path, where: str) -> None:
    path.mkdir()
    value.save(path)


register_artifact_type(ArtifactType(
    kind="trained", label="shipyard TrainedModel", suffix=".trained",
    matches=lambda value: isinstance(value, TrainedModel), save=_save_trained,
    # Looked up at call time, not bound now, so a subclass or a test's stand-in is honoured.
    load=lambda path: TrainedModel.load(path)))  # noqa: PLW0108
