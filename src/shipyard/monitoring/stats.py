"""Skew and drift of one column, from counts over the reference profile's bins.

Both sides are counted into the same fixed bins (:mod:`shipyard.train.profile`), so the tests
run on a few dozen counts whatever the number of logged rows:

- **PSI** (population stability index) over the bins, shares floored at 1e-4 so an empty bin
  does not make it infinite; 0.1 is read as a moderate shift, 0.2 as a large one.
- **Numbers: binned Kolmogorov–Smirnov.** D is the largest gap between the two cumulative
  shares at the bin edges (a lower bound of the unbinned D; the edges are the reference's
  twenty quantiles, so the gaps of a location shift, at the median, and of a scale change,
  near the 14th and 86th percentiles, fall on or beside an edge), its p-value from
  the KS distribution for the effective sample size ``n·m/(n+m)``.
- **Categories: chi-square** of the 2×k table, effect the total variation distance between
  the two samples' shares (the unseen-value bucket is a category like any other, so a new
  value holding 15% of the rows is an effect of 0.15).
- **Null rate: chi-square** of null vs non-null counts, effect Cohen's h.

Every effect is a measure of the two distributions alone, not of their sizes (Cramér's V and φ,
used before, shrink when one sample is much larger than the other: against a 1M-row window a
1,000-row training profile missed a column going from 2% to 80% missing); the sizes enter
through the p-value only.

A column drifts under the large-sample rule of ingest validation
(:func:`shipyard.lake.validation.stats.matters`): a test significant at ``alpha`` *and* a shift
large enough to matter — KS D or total variation at least ``min_effect`` (both are a share of
rows that moved), Cohen's h of the null rate at least ``min_null_h``, or PSI at least ``psi``.
What that finds, shift by shift and window size by window size, is measured by
``benchmarks/drift_power.py`` (its table is in the README).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from shipyard.config.schema import DriftThresholds
from shipyard.lake.validation.stats import cohens_h, homogeneity, matters, total_variation

__all__ = ["Counts", "Test", "compare", "psi"]

_FLOOR = 1e-4
_EXACT_KS_UP_TO = 10_000
"""Effective sample sizes up to which the exact KS distribution is used; past it the
asymptotic one agrees to many digits and costs nothing."""


@dataclass
class Counts:
    """One sample of one column: counts per bin and the nulls beside them."""

    counts: np.ndarray
    nulls: int = 0

    @property
    def rows(self) -> int:
        return int(self.counts.sum()) + self.nulls

    @property
    def shares(self) -> np.ndarray:
        total = self.counts.sum()
        return self.counts / total if total else np.zeros(len(self.counts))

    def add(self, counts: np.ndarray, nulls: int) -> None:
        self.counts = self.counts + counts
        self.nulls += nulls


@dataclass(frozen=True)
class Test:
    """The comparison of one column's current sample with its reference."""

    test: str
    """``ks`` (numbers), ``chi2`` (categories), or ``none`` when one side has no values."""
    statistic: float | None
    p_value: float | None
    effect: float | None
    psi: float
    null_rate: tuple[float, float]
    """(reference, current) share of nulls."""
    null_p: float
    null_effect: float
    drifted: bool
    reason: str


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins."""
    r = np.maximum(reference / max(reference.sum(), 1), _FLOOR)
    c = np.maximum(current / max(current.sum(), 1), _FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def _ks(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    n, m = float(reference.sum()), float(current.sum())
    d = float(np.max(np.abs(np.cumsum(reference) / n - np.cumsum(current) / m)))
    en = n * m / (n + m)
    p = (stats.kstwo.sf(d, max(1, round(en))) if en <= _EXACT_KS_UP_TO
         else stats.kstwobign.sf(d * np.sqrt(en)))
    return d, float(p)


def compare(reference: Counts, current: Counts, numeric: bool, s: DriftThresholds) -> Test:
    """Test ``current`` against ``reference`` (counts over the same bins), judged by the
    column's thresholds (:meth:`shipyard.config.schema.MonitoringSettings.thresholds`)."""
    null_rate = (reference.nulls / max(reference.rows, 1), current.nulls / max(current.rows, 1))
    _, null_p, _ = homogeneity(np.array(
        [[current.nulls, current.rows - current.nulls],
         [reference.nulls, reference.rows - reference.nulls]]), correction=False)
    null_effect = cohens_h(*null_rate)
    nulls_moved = matters(null_p, null_effect, s.alpha, s.min_null_h)
    null_reason = f"null rate {null_rate[0]:.1%} → {null_rate[1]:.1%} (h={null_effect:.2f})"
    if reference.counts.sum() == 0 or current.counts.sum() == 0:
        return Test("none", None, None, None, 0.0, null_rate, null_p, null_effect, nulls_moved,
                    null_reason if nulls_moved else "no values on one side to compare")
    shift = psi(reference.counts, current.counts)
    if numeric:
        test, (statistic, p) = "ks", _ks(reference.counts, current.counts)
        effect = statistic
    else:
        test = "chi2"
        statistic, p, _ = homogeneity(np.vstack([current.counts, reference.counts]))
        effect = total_variation(reference.counts, current.counts)
    large = matters(p, effect, s.alpha, s.min_effect) or (p < s.alpha and shift >= s.psi)
    if large:
        name = "KS D" if numeric else "TV"
        reason = f"shifted: {name}={effect:.2f}, PSI={shift:.2f}, p={p:.2g}"
    elif nulls_moved:
        reason = null_reason
    else:
        reason = "stable"
    return Test(test, statistic, p, effect, shift, null_rate, null_p, null_effect,
                large or nulls_moved, reason)
