"""Training helpers: splits, Optuna tuning, refit and test metrics, the ``TrainedModel``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard._lazy import exports

# names of modules too: bound here (see shipyard._lazy); their modules import no Optuna
from shipyard.train.split import Split, split
from shipyard.train.tune import Tuned, tune

if TYPE_CHECKING:
    from shipyard.train.fit import train_classifier, train_regressor
    from shipyard.train.metrics import classification_metrics, regression_metrics
    from shipyard.train.trained import TrainedModel

__all__ = ["Split", "TrainedModel", "Tuned", "classification_metrics", "regression_metrics",
           "split", "train_classifier", "train_regressor", "tune"]

# Imported on first use: the server imports categories, compiled and persist, which need
# neither Optuna nor the splitting and metrics of scikit-learn.
__getattr__, __dir__ = exports(__name__, {
    "TrainedModel": "shipyard.train.trained",
    "classification_metrics": "shipyard.train.metrics",
    "regression_metrics": "shipyard.train.metrics",
    "train_classifier": "shipyard.train.fit",
    "train_regressor": "shipyard.train.fit",
})
