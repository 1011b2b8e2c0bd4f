"""The one number a tabular model answers per row: a classifier's positive-class probability, a
regressor's predicted value.

Training, tuning, the champion–challenger comparison, the server and ``shipyard predict`` all
score rows through :func:`outputs`, so each asks the model the same question and none has a
classifier's ``predict_proba(X)[:, 1]`` of its own. Which kind a fitted model is comes from the
model itself (scikit-learn's estimator type, which a ``Pipeline`` takes from its last step),
so every version registered before regressors existed reads as the classifier it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shipyard.train.metrics import Task

__all__ = ["outputs", "task_of"]


def task_of(model: Any) -> Task:
    """``"regression"`` for a scikit-learn regressor (or a pipeline ending in one), else
    ``"classification"`` (an object with no scikit-learn tags, too: scored by its
    ``predict_proba``, as every model was before regressors)."""
    if not hasattr(model, "__sklearn_tags__"):
        return "classification"
    from sklearn.base import is_regressor

    return "regression" if is_regressor(model) else "classification"


def outputs(model: Any, X: Any, task: Task | None = None) -> np.ndarray:
    """One float per row of ``X``: the positive-class probability, or the predicted value
    (``task`` when the caller knows it already, else :func:`task_of`)."""
    if (task or task_of(model)) == "regression":
        return np.asarray(model.predict(X), dtype=np.float64).reshape(-1)
    return np.asarray(model.predict_proba(X), dtype=np.float64)[:, 1]
