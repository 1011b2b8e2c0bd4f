"""The reference profile of a model: what its training inputs and its outputs looked like.

Monitoring compares what a served model sees with what it was trained on (*skew*). Comparing
millions of logged rows must not need the training data again, so the comparison runs against
counts kept with the model version: per input column its null count and its counts over
fixed bins — quantile bins of the training values for a number, the training categories (plus
one bucket for any value training never saw) for anything else — and the counts of the model's
output on its test rows: a classifier's positive-class probability over twenty equal bins of
[0, 1], a regressor's predicted value over quantile bins of those predictions.

Built here, in ``train``, because the rows the model was fitted on exist only while it is
trained (a ``TrainedModel`` keeps its test rows, not its training rows); the registry, one
layer up, logs the profile with the version as ``reference_profile.json``, and monitoring, further
up, bins serving rows into the same bins (:meth:`ColumnProfile.count`) so both sides are
counted alike.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from shipyard.train.metrics import Task

__all__ = ["OTHER", "PROFILE_FILE", "ColumnProfile", "ReferenceProfile", "build_profile",
           "profile_column"]

PROFILE_FILE = "reference_profile.json"
OTHER = "<other>"
"""The bucket of categories the reference does not list (unseen in training, or beyond
``MAX_CATEGORIES``)."""
QUANTILE_BINS = 20
"""Bins of a numeric column: fine enough for the binned KS statistic to see a shift of a
tenth of a standard deviation, few enough that PSI is not noise on a thousand rows."""
MAX_CATEGORIES = 50
OUTPUT_EDGES = [round(x, 2) for x in np.linspace(0.05, 0.95, 19)]
OUTPUT = "prediction"
FORMAT = 1


@dataclass(frozen=True)
class ColumnProfile:
    """Counts of one column over fixed bins.

    A numeric column's bins are the intervals ``(-inf, e0], (e0, e1], …, (e_last, inf)`` of its
    ``edges``; a categorical column's are its ``categories`` followed by :data:`OTHER`.
    ``counts`` has one entry per bin and excludes the ``nulls``.
    """

    name: str
    kind: Literal["numeric", "categorical"]
    rows: int
    nulls: int
    counts: list[int]
    edges: list[float] | None = None
    categories: list[str] | None = None
    low: float | None = None
    """A numeric column's smallest and largest training value (None in a profile made before
    they were kept): the server refuses values far outside them (``serving.input_margin``)."""
    high: float | None = None

    @property
    def labels(self) -> list[str]:
        """A readable name per bin, for tables and plots."""
        if self.categories is not None:
            return [*self.categories, OTHER]
        edges = self.edges or []
        if not edges:
            return ["all"]
        return ([f"≤ {edges[0]:.4g}"] + [f"({a:.4g}, {b:.4g}]" for a, b in pairwise(edges)]
                + [f"> {edges[-1]:.4g}"])

    def count(self, values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, int]:
        """(counts per bin, nulls) of ``values`` in this column's bins: a batch of serving
        rows, counted exactly as the training rows were."""
        nulls = values.null_count
        if self.kind == "numeric":
            data = np.asarray(values.drop_null().to_numpy(zero_copy_only=False), dtype=float)
            data = data[~np.isnan(data)]
            nulls += int(len(values) - values.null_count - len(data))
            index = np.searchsorted(np.asarray(self.edges or [], dtype=float), data, side="left")
            return np.bincount(index, minlength=len(self.counts)).astype(np.int64), nulls
        position = {c: i for i, c in enumerate(self.categories or [])}
        counts = np.zeros(len(self.counts), dtype=np.int64)
        for item in values.drop_null().cast(pa.string()).value_counts().to_pylist():
            counts[position.get(item["values"], len(counts) - 1)] += int(item["counts"])
        return counts, nulls


@dataclass(frozen=True)
class ReferenceProfile:
    """The profile of one model version: its input columns and its output."""

    columns: list[ColumnProfile]
    output: ColumnProfile | None
    task: Task = "classification"
    """What ``output`` profiles: positive-class probabilities, or predicted values."""

    @property
    def logged_output(self) -> str:
        """The prediction log's column holding what ``output`` profiles
        (:mod:`shipyard.monitoring.logschema`): a classifier's probability, a regressor's
        prediction."""
        return "prediction" if self.task == "regression" else "probability"

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)

    def ranges(self) -> dict[str, tuple[float, float]]:
        """Numeric input column → (smallest, largest) value seen in training, where kept."""
        return {c.name: (c.low, c.high) for c in self.columns
                if c.low is not None and c.high is not None}

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "columns": [asdict(c) for c in self.columns],
                           "output": None if self.output is None else asdict(self.output),
                           "task": self.task}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> ReferenceProfile:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"reference profile format {data.get('format')!r} is not {FORMAT}")
        return cls([ColumnProfile(**c) for c in data["columns"]],
                   None if data["output"] is None else ColumnProfile(**data["output"]),
                   # a profile written before regressors existed is a classifier's
                   data.get("task", "classification"))


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _numeric(name: str, values: pd.Series, edges: list[float] | None = None) -> ColumnProfile:
    data = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    present = data[~np.isnan(data)]
    if edges is None:
        quantiles = np.linspace(0, 1, QUANTILE_BINS + 1)[1:-1]
        # the top edge is dropped: (q_last, inf) would hold nothing if it were the maximum
        edges = ([] if len(present) == 0 else
                 [float(e) for e in np.unique(np.quantile(present, quantiles))])
    column = ColumnProfile(name, "numeric", len(data), int(len(data) - len(present)),
                           [0] * (len(edges) + 1), edges=edges)
    counts, _ = column.count(pa.array(present))
    low, high = (float(present.min()), float(present.max())) if len(present) else (None, None)
    return ColumnProfile(name, "numeric", column.rows, column.nulls, counts.tolist(), edges=edges,
                         low=low, high=high)


def _categorical(name: str, values: pd.Series) -> ColumnProfile:
    present = values.dropna()
    # as serving reads them from JSON: true/false, not Python's True/False
    present = (present.map({True: "true", False: "false"}) if pd.api.types.is_bool_dtype(values)
               else present.astype(str))
    frequent = present.value_counts()
    kept = sorted(frequent.index[:MAX_CATEGORIES].tolist())
    counts = [int(frequent[c]) for c in kept] + [int(frequent.iloc[MAX_CATEGORIES:].sum())]
    return ColumnProfile(name, "categorical", len(values), int(values.isna().sum()), counts,
                         categories=kept)


def profile_column(name: str, values: pd.Series) -> ColumnProfile:
    """The profile of one column: quantile bins for a number, categories for the rest."""
    return _numeric(name, values) if _is_numeric(values) else _categorical(name, values)


def build_profile(train_X: pd.DataFrame, test_scores: Any, *,
                  task: Task = "classification") -> ReferenceProfile:
    """Profile the rows a model was fitted on and its outputs on its test rows (positive-class
    probabilities over fixed bins of [0, 1]; a regressor's values over their own quantiles,
    since their scale is the target's)."""
    columns = [profile_column(str(name), values) for name, values in train_X.items()]
    output = _numeric(OUTPUT, pd.Series(np.asarray(test_scores, dtype=float)),
                      OUTPUT_EDGES if task == "classification" else None)
    return ReferenceProfile(columns, output, task)
