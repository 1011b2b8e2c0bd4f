"""Challenger against champion on the same rows, with bootstrap confidence intervals.

Which rows is :mod:`shipyard.registry.evaluation`'s choice: those neither version was fitted on.

A difference of two test-set metrics means little without its uncertainty: on Titanic's ~260
test passengers one passenger is 0.4 points of accuracy. Rows are resampled with replacement
(paired: both models are scored on the same resample), the metric difference recomputed each
time, and the 2.5th and 97.5th percentiles give the 95% interval. ``improvement`` is signed so
that positive is better for every metric (log loss, RMSE or MAE falling is an improvement).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from shipyard.train.metrics import GREATER_IS_BETTER, METRICS, Task

__all__ = ["Comparison", "MetricDiff", "compare_means", "compare_scores"]

RESAMPLES = 1000


@dataclass(frozen=True)
class MetricDiff:
    metric: str
    challenger: float
    champion: float
    improvement: float
    ci_low: float
    ci_high: float

    @property
    def verdict(self) -> str:
        if self.ci_low > 0:
            return "better"
        if self.ci_high < 0:
            return "worse"
        return "inconclusive"


@dataclass(frozen=True)
class Comparison:
    """The report: which versions, on how many rows, and each metric's difference."""

    model: str
    challenger: int
    champion: int
    rows: int
    primary_metric: str
    metrics: list[MetricDiff]
    resamples: int
    created_at: str
    evaluation: dict[str, Any] | None = None
    """What both were scored on (:class:`shipyard.registry.evaluation.EvaluationSet` as a
    dict: rule, rows, rows_hash, candidates, data_versions); None in reports written before
    Shipyard chose rows neither version was fitted on."""

    @property
    def primary(self) -> MetricDiff:
        return next(m for m in self.metrics if m.metric == self.primary_metric)

    @property
    def challenger_wins(self) -> bool:
        """The policy of ``promote: auto``: the primary metric's interval lies above zero."""
        return self.primary.ci_low > 0

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "challenger_wins": self.challenger_wins}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Comparison:
        """A report :meth:`to_json` wrote (``challenger_wins`` is recomputed, not read)."""
        data = json.loads(text)
        data.pop("challenger_wins", None)
        data["metrics"] = [MetricDiff(**m) for m in data["metrics"]]
        return cls(**data)

    @staticmethod
    def file_name(challenger: int, champion: int) -> str:
        """The report's file name in the model's reports folder (one per pair of versions)."""
        return f"compare-v{challenger}-vs-v{champion}.json"

    @property
    def report_name(self) -> str:
        return self.file_name(self.challenger, self.champion)


def compare_scores(model: str, challenger: int, champion: int, y: np.ndarray,
                   challenger_p: np.ndarray, champion_p: np.ndarray, *,
                   primary_metric: str, seed: int = 0, resamples: int = RESAMPLES,
                   evaluation: dict[str, Any] | None = None,
                   task: Task = "classification") -> Comparison:
    """Compare two models' outputs (positive-class scores, or a regressor's values) on the
    same labelled rows (``evaluation`` names them), by the metrics of their ``task``."""
    y = np.asarray(y).astype(int) if task == "classification" else np.asarray(y, float)
    a, b = np.asarray(challenger_p, float), np.asarray(champion_p, float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(y), size=(resamples, len(y)))
    diffs = []
    for name, fn in METRICS[task].items():
        sign = 1.0 if GREATER_IS_BETTER[name] else -1.0
        boot = np.array([fn(y[i], a[i]) - fn(y[i], b[i]) for i in draws]) * sign
        boot = boot[~np.isnan(boot)]
        low, high = np.percentile(boot, [2.5, 97.5]) if len(boot) else (np.nan, np.nan)
        ca, cb = fn(y, a), fn(y, b)
        diffs.append(MetricDiff(name, ca, cb, sign * (ca - cb), float(low), float(high)))
    return Comparison(model=model, challenger=challenger, champion=champion, rows=len(y),
                      primary_metric=primary_metric, metrics=diffs, resamples=resamples,
                      created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                      evaluation=evaluation)


def compare_means(model: str, challenger: int, champion: int,
                  challenger_values: dict[str, np.ndarray], champion_values: dict[str, np.ndarray],
                  *, primary_metric: str, seed: int = 0, resamples: int = RESAMPLES,
                  evaluation: dict[str, Any] | None = None) -> Comparison:
    """Compare metrics that are means over units (a recommender's per-user MAP@K, NDCG@K…).

    Both dicts hold one value per unit, aligned (the same users in the same order); units are
    resampled in pairs and every metric is higher-is-better.
    """
    rng = np.random.default_rng(seed)
    units = len(next(iter(challenger_values.values())))
    draws = rng.integers(0, units, size=(resamples, units))
    diffs = []
    for name, a in challenger_values.items():
        b = champion_values[name]
        gain = np.where(np.isnan(a - b), 0.0, a - b)
        boot = gain[draws].mean(axis=1)
        low, high = np.percentile(boot, [2.5, 97.5])
        diffs.append(MetricDiff(name, float(np.nanmean(a)), float(np.nanmean(b)),
                                float(gain.mean()), float(low), float(high)))
    return Comparison(model=model, challenger=challenger, champion=champion, rows=units,
                      primary_metric=primary_metric, metrics=diffs, resamples=resamples,
                      created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                      evaluation=evaluation)
