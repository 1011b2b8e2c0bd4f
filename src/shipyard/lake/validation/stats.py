"""The large-sample rule, shared by ingest validation and model monitoring.

With tens of thousands of rows a hypothesis test finds *some* difference between any two real
samples, so a difference counts only when it is significant (p < alpha) **and** its effect is
large enough to matter (at least ``min_effect``). Both ingest validation
(:mod:`shipyard.lake.validation.distribution`) and skew/drift monitoring judge with these two
functions, so one rule means one thing across Shipyard.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["homogeneity", "matters"]


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
