"""Test metrics from a model's outputs, shared by training (test split) and comparison (bootstrap).

A classifier's metrics are computed from the positive-class probability, a regressor's from its
predicted values, so a comparison can resample rows and recompute them without calling the model
again. They are written with NumPy rather than
called from ``sklearn.metrics`` because a bootstrap calls them thousands of times and the input
checks there cost a hundred times the arithmetic; a unit test holds them equal to scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from scipy.stats import rankdata

from shipyard.config.metrics import greater_is_better

__all__ = ["CLASSIFICATION", "GREATER_IS_BETTER", "METRICS", "REGRESSION", "Task",
           "classification_metrics", "metric_value", "regression_metrics", "task_metrics"]

Task = Literal["classification", "regression"]
"""What a tabular model answers per row: a positive-class probability, or a number."""

THRESHOLD = 0.5


def _accuracy(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p >= THRESHOLD) == y))


def _f1(y: np.ndarray, p: np.ndarray) -> float:
    predicted = p >= THRESHOLD
    true_positive = np.sum(predicted & (y == 1))
    denominator = np.sum(predicted) + np.sum(y == 1)
    return float(2 * true_positive / denominator) if denominator else 0.0


def _roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mann-Whitney U over average ranks (ties count half), undefined with one class."""
    positives = int(np.sum(y == 1))
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2)
                 / (positives * negatives))


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    eps = np.finfo(float).eps  # scikit-learn's clip, so a score of 0 or 1 costs the same
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


CLASSIFICATION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": _accuracy,
    "roc_auc": _roc_auc,
    "f1": _f1,
    "log_loss": _log_loss,
}
"""Metric name → function of (labels 0/1, positive-class probability)."""

def _rmse(y: np.ndarray, v: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - v) ** 2)))


def _mae(y: np.ndarray, v: np.ndarray) -> float:
    return float(np.mean(np.abs(y - v)))


def _r2(y: np.ndarray, v: np.ndarray) -> float:
    """1 - residual / total sum of squares; undefined (NaN) when every target is the same,
    where scikit-learn's choice of 0 or 1 would be made up."""
    total = np.sum((y - np.mean(y)) ** 2)
    return float(1 - np.sum((y - v) ** 2) / total) if total else float("nan")


REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "rmse": _rmse,
    "mae": _mae,
    "r2": _r2,
}
"""Metric name → function of (targets, predicted values)."""

METRICS: dict[Task, dict[str, Callable[[np.ndarray, np.ndarray], float]]] = {
    "classification": CLASSIFICATION, "regression": REGRESSION}

GREATER_IS_BETTER = {name: greater_is_better(name) for name in (*CLASSIFICATION, *REGRESSION)}
"""Metric name → whether higher is better (the direction the config knows each metric by)."""


def metric_value(name: str, y: np.ndarray, p: np.ndarray) -> float:
    """One named metric of either kind; an unknown name says which ones exist."""
    for task, metrics in METRICS.items():
        if name in metrics:
            return task_metrics(task, y, p, only=name)[name]
    raise ValueError(f"unknown metric {name!r}; expected one of "
                     f"{', '.join(m for metrics in METRICS.values() for m in metrics)}")


def task_metrics(task: Task, y: np.ndarray, p: np.ndarray, *,
                 only: str | None = None) -> dict[str, float]:
    """The metrics of a ``task`` (or just ``only``) of outputs ``p`` against targets ``y``:
    labels as 0/1 integers for a classifier, numbers for a regressor."""
    y = np.asarray(y).astype(int) if task == "classification" else np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    return {name: fn(y, p) for name, fn in METRICS[task].items() if only in (None, name)}


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """All classification metrics of scores ``p`` against labels ``y``."""
    return task_metrics("classification", y, p)


def regression_metrics(y: np.ndarray, v: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² of predicted values ``v`` against targets ``y``."""
    return task_metrics("regression", y, v)
