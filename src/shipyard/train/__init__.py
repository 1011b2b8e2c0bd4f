"""Training helpers: splits, Optuna tuning, refit and test metrics, the ``TrainedModel``."""

from __future__ import annotations

from shipyard.train.fit import train_classifier
from shipyard.train.metrics import classification_metrics
from shipyard.train.split import Split, split
from shipyard.train.trained import TrainedModel
from shipyard.train.tune import Tuned, tune

__all__ = ["Split", "TrainedModel", "Tuned", "classification_metrics", "split",
           "train_classifier", "tune"]
