"""Implicit-feedback interactions: a sparse user × item matrix with its id mappings.

Ids stay the ERP's own (``C00042``); positions in the matrix are internal. The time split holds
out each user's latest interactions, the way the model is used: trained on the past, asked
about what comes next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shipyard.errors import PipelineError

__all__ = ["Interactions", "time_split"]


@dataclass(frozen=True)
class Interactions:
    """``matrix[u, i]`` is how often user ``users[u]`` took item ``items[i]``."""

    users: np.ndarray
    items: np.ndarray
    matrix: sp.csr_matrix

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, user: str, item: str, *,
                   users: np.ndarray | None = None,
                   items: np.ndarray | None = None) -> Interactions:
        """Count (user, item) pairs; with ``users``/``items`` given, rows outside them drop."""
        missing = [c for c in (user, item) if c not in frame.columns]
        if missing:
            raise PipelineError(f"interactions: column(s) {missing} not in the data; its "
                                f"columns are {', '.join(frame.columns)}")
        users = np.sort(frame[user].astype(str).unique()) if users is None else users
        items = np.sort(frame[item].astype(str).unique()) if items is None else items
        u = pd.Index(users).get_indexer(frame[user].astype(str))
        i = pd.Index(items).get_indexer(frame[item].astype(str))
        keep = (u >= 0) & (i >= 0)
        matrix = sp.csr_matrix((np.ones(keep.sum(), dtype=np.float32), (u[keep], i[keep])),
                               shape=(len(users), len(items)))
        matrix.sum_duplicates()
        return cls(users=np.asarray(users, dtype=str), items=np.asarray(items, dtype=str),
                   matrix=matrix)


def time_split(frame: pd.DataFrame, user: str, time: str,
               test_fraction: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each user's latest ``test_fraction`` of interactions (at least one, if they have two)
    become the test rows; the rest are for training."""
    if not 0 < test_fraction < 1:
        raise PipelineError(f"time_split: test_fraction must be in (0, 1), got {test_fraction}")
    ordered = frame.sort_values([user, time], kind="stable")
    position = ordered.groupby(user, sort=False).cumcount()
    size = ordered.groupby(user, sort=False)[user].transform("size")
    n_test = np.where(size >= 2, np.maximum(1, np.floor(size * test_fraction)), 0)
    is_test = position >= size - n_test
    return ordered[~is_test], ordered[is_test]
