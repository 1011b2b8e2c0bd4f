"""Ranking metrics per user — MAP@K, NDCG@K, precision@K, AUC — and their means.

Per-user values are kept, not only means, so a comparison of two recommenders can bootstrap
over users (the unit that was sampled) with paired resamples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shipyard.recsys.model import RecModel

__all__ = ["RANKING", "per_user_metrics", "ranking_metrics", "ranking_of"]

RANKING = ("map_at_k", "ndcg_at_k", "precision_at_k", "auc")


def per_user_metrics(model: RecModel, test: sp.csr_matrix, k: int = 10) -> pd.DataFrame:
    """Metrics of each user with at least one test item, indexed by user id (rows of ``test``
    align with ``model.users``, columns with ``model.items``)."""
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    top, _ = model.top_k(users, k, exclude_seen=bool(model.params.get("exclude_seen", False)))
    truth = test[users]
    ranked = ranking_of(top, truth)
    return pd.DataFrame({**ranked, "auc": _auc(model, users, truth)},
                        index=pd.Index(model.users[users], name="user"))


def ranking_of(top: np.ndarray, truth: sp.csr_matrix) -> dict[str, np.ndarray]:
    """MAP@K, NDCG@K and precision@K of each row of ``top`` (item positions, best first; -1
    pads a list shorter than K) against the items of the same row of ``truth`` (at least one
    per row): the arithmetic shared by offline evaluation and the outcomes of published sets."""
    hits = np.zeros(top.shape, dtype=bool)
    for row in range(top.shape[0]):
        relevant = truth.indices[truth.indptr[row]:truth.indptr[row + 1]]
        hits[row] = np.isin(top[row], relevant) & (top[row] >= 0)
    n_relevant = np.diff(truth.indptr)
    ranks = np.arange(1, top.shape[1] + 1)
    precision_at_i = np.cumsum(hits, axis=1) / ranks
    ap = (precision_at_i * hits).sum(axis=1) / np.minimum(n_relevant, top.shape[1])
    discounts = 1 / np.log2(ranks + 1)
    dcg = (hits * discounts).sum(axis=1)
    ideal = np.array([discounts[:min(n, top.shape[1])].sum() for n in n_relevant])
    return {"map_at_k": ap, "ndcg_at_k": dcg / ideal, "precision_at_k": hits.mean(axis=1)}


def _auc(model: RecModel, users: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
    """Chance that a held-out item outranks an item the user never took (seen items aside)."""
    from scipy.stats import rankdata

    out = np.empty(len(users))
    for start in range(0, len(users), 1024):
        rows = users[start:start + 1024]
        scores = model.scores(rows)
        seen = model.seen[rows]
        for j in range(len(rows)):
            positives = truth.indices[truth.indptr[start + j]:truth.indptr[start + j + 1]]
            excluded = seen.indices[seen.indptr[j]:seen.indptr[j + 1]]
            mask = np.ones(scores.shape[1], dtype=bool)
            mask[excluded] = False
            candidates = np.flatnonzero(mask)
            ranks = rankdata(scores[j, candidates])
            is_pos = np.isin(candidates, positives)
            n_pos, n_neg = is_pos.sum(), (~is_pos).sum()
            out[start + j] = ((ranks[is_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
                              if n_pos and n_neg else np.nan)
    return out


def ranking_metrics(per_user: pd.DataFrame, k: int = 10) -> dict[str, float]:
    """Means over users, named with the cut-off (``map_at_10``)."""
    return {str(name).replace("_k", f"_{k}"): float(per_user[name].mean()) for name in per_user}
