"""What a training step returns: a fitted model with its evaluation, ready to be registered.

The pipeline runner stores it between steps (and in its cache) with :meth:`TrainedModel.save`,
and after a successful, non-smoke run hands every ``TrainedModel`` output to the registry flow
(``shipyard.registry.flow.register_trained``), which logs, registers, gates and compares it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

__all__ = ["TrainedModel"]


@dataclass
class TrainedModel:
    """A fitted model plus everything needed to register it and compare it later.

    Attributes:
        name: Registered model name; must be declared under ``models:`` in shipyard.yaml.
        model: The fitted model (for ``flavor="sklearn"``, an estimator or ``Pipeline`` whose
            ``predict_proba`` gives scores).
        metrics: Metrics on the test split (e.g. accuracy, roc_auc, f1, log_loss).
        params: The chosen hyper-parameters.
        input_example: A few rows of model input (for the signature and the docs).
        test_X: The test split's features, kept so a later comparison with the production model
            runs on the same rows.
        test_y: The test split's labels.
        task: What kind of model this is; decides which metrics a comparison computes.
        flavor: The MLflow flavour it is logged with.
    """

    name: str
    model: Any
    metrics: dict[str, float]
    params: dict[str, Any]
    input_example: pd.DataFrame
    test_X: pd.DataFrame
    test_y: pd.Series
    task: Literal["classification"] = "classification"
    flavor: Literal["sklearn"] = "sklearn"
    tags: dict[str, str] = field(default_factory=dict)

    def save(self, path: Path) -> None:  # implemented by the registry/training work
        raise NotImplementedError

    @classmethod
    def load(cls, path: Path) -> TrainedModel:
        raise NotImplementedError
