"""The large-sample rule, shared by ingest validation and model monitoring.

With tens of thousands of rows a hypothesis test finds *some* difference between any two real
samples, so a difference counts only when it is significant (p < alpha) **and** its effect is
large enough to matter (at least ``min_effect``). Both ingest validation
(:mod:`shipyard.lake.validation.distribution`) and skew/drift monitoring judge with these two
functions, so one rule means one thing across Shipyard.

The effect must not depend on how many rows each side has: Cramér's V (and φ, its 2×2 case)
is ``sqrt(chi2 / (n + m))``, which shrinks towards zero when one sample is much larger than the
other (a 1,000-row training profile against a 1M-row window), so a column going from 2% to 80%
missing would not "matter". :func:`total_variation` (categories) and :func:`cohens_h` (a
proportion) are measures of the two distributions alone; the sizes enter only through p.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["cohens_h", "homogeneity", "matters", "total_variation"]


def homogeneity(table: np.ndarray, *, correction: bool = True) -> tuple[float, float, float]:
    """(chi-square, p, Cramér's V) of a 2×k table of counts, one sample per row.

    Categories neither sample has are dropped (their expected count is zero). Cramér's V of a
    2×k table is ``sqrt(chi2 / n)``; for a 2×2 table it is the φ coefficient.
    """
    table = np.asarray(table, dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0, 0.0
    chi2, p, _, _ = stats.chi2_contingency(table, correction=correction)
    return float(chi2), float(p), float(np.sqrt(chi2 / table.sum()))


def matters(p: float, effect: float, alpha: float, min_effect: float) -> bool:
    """Whether a difference is both significant and large enough to matter."""
    return p < alpha and effect >= min_effect


def total_variation(first: np.ndarray, second: np.ndarray) -> float:
    """Half the summed gaps between two count vectors' shares over the same categories: the
    share of one sample that would have to change category to look like the other (0 to 1;
    a new category holding 15% of the rows is 0.15)."""
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if a.sum() == 0 or b.sum() == 0:
        return 0.0
    return float(np.abs(a / a.sum() - b / b.sum()).sum() / 2)


def cohens_h(first: float, second: float) -> float:
    """Cohen's h between two proportions, ``|2·asin√p₁ − 2·asin√p₂|``: a difference on the scale
    where a proportion's sampling variance is flat, so 2% → 4% counts as much as 50% → 60%
    (0.2 is Cohen's "small", 0.5 "medium")."""
    return float(abs(2 * np.arcsin(np.sqrt(first)) - 2 * np.arcsin(np.sqrt(second))))
