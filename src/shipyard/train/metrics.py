"""Classification metrics from scores, shared by training (test split) and comparison (bootstrap).

Every metric is computed from the positive-class probability, so a comparison can resample rows
and recompute them without calling the model again. They are written with NumPy rather than
called from ``sklearn.metrics`` because a bootstrap calls them thousands of times and the input
checks there cost a hundred times the arithmetic; a unit test holds them equal to scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

__all__ = ["CLASSIFICATION", "GREATER_IS_BETTER", "classification_metrics", "metric_value"]

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

GREATER_IS_BETTER = {"accuracy": True, "roc_auc": True, "f1": True, "log_loss": False}


def metric_value(name: str, y: np.ndarray, p: np.ndarray) -> float:
    """One named metric; an unknown name says which ones exist."""
    try:
        return CLASSIFICATION[name](np.asarray(y), np.asarray(p))
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; expected one of "
                         f"{', '.join(CLASSIFICATION)}") from None


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """All classification metrics of scores ``p`` against labels ``y``."""
    y, p = np.asarray(y).astype(int), np.asarray(p, dtype=float)
    return {name: fn(y, p) for name, fn in CLASSIFICATION.items()}
