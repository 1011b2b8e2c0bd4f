"""Recommender models as plain arrays: popularity, ALS, BPR, item-item cosine and EASE.

Every kind scores items for a batch of users with one matrix product, so top-K for all
customers is a loop of BLAS calls plus ``argpartition``.

EASE (Steck, "Embarrassingly Shallow Autoencoders", WWW 2019) is a closed-form item-item model:
``B = I - P / diag(P)`` with ``P = (XᵀX + λI)⁻¹`` and a zero diagonal, scores ``X_u B``. It is
the strongest simple baseline on MovieLens-like data, but ``P`` is dense items × items, so it
models only the ``max_items`` most popular items (3,000 by default: 36 MB of weights, a
Cholesky inverse of a few seconds); the others are never recommended by it. ALS and EASE can
fit on recency-weighted interactions (``half_life_days``, see
:meth:`~shipyard.recsys.data.Interactions.weighted`). The fitted state is arrays and sparse
matrices, saved as ``.npy``/``.npz`` (no pickle): the model loads anywhere NumPy does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import scipy.sparse as sp

from shipyard.errors import PipelineError
from shipyard.recsys.data import Interactions

__all__ = ["KINDS", "RecModel", "fit_recommender"]

KINDS = ("popularity", "als", "bpr", "cosine", "ease")
Kind = Literal["popularity", "als", "bpr", "cosine", "ease"]
SCORES_PER_BATCH = 1 << 22
"""Scores held at once by :meth:`RecModel.top_k` (16 MB of float32): 200 users × 20,000 items."""
BLOCK = 64
"""Columns per block in :func:`best_of`'s first pass."""
EASE_ITEMS = 3000
"""Items EASE models by default (the most popular): its weights are dense items × items."""


@dataclass
class RecModel:
    """A fitted recommender and the training interactions it excludes from its answers."""

    kind: Kind
    users: np.ndarray
    items: np.ndarray
    seen: sp.csr_matrix
    params: dict[str, Any] = field(default_factory=dict)
    user_factors: np.ndarray | None = None
    item_factors: np.ndarray | None = None
    similarity: sp.csr_matrix | None = None
    popularity: np.ndarray | None = None
    item_subset: np.ndarray | None = None
    """EASE: the positions of the items it models, ascending."""
    item_weights: np.ndarray | None = None
    """EASE: ``B``, len(item_subset) × len(item_subset)."""
    profile: sp.csr_matrix | None = None
    """EASE: each user's (recency-weighted) interactions with the modelled items."""

    def user_index(self, ids: list[str] | np.ndarray) -> np.ndarray:
        """Positions of user ids; -1 for a user the model has never seen."""
        import pandas as pd

        return pd.Index(self.users).get_indexer(np.asarray(ids, dtype=str))

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """Dense scores (len(rows) × items) of the users at positions ``rows``; -inf for an
        item the model does not score (EASE beyond its ``max_items``)."""
        part, columns = self._scored(rows)
        if columns is None:
            return part
        full = np.full((len(rows), len(self.items)), -np.inf, dtype=np.float32)
        full[:, columns] = part
        return full

    def _scored(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Scores of the items the model scores, and their positions (None: all items)."""
        if self.kind == "ease":
            assert self.profile is not None and self.item_weights is not None
            return np.asarray(self.profile[rows] @ self.item_weights), self.item_subset
        if self.kind == "popularity":
            assert self.popularity is not None  # fit_recommender sets each kind's state
            return np.broadcast_to(self.popularity, (len(rows), len(self.items))).copy(), None
        if self.kind == "cosine":
            assert self.similarity is not None
            return (np.asarray((self.seen[rows] @ self.similarity).todense(), dtype=np.float32),
                    None)
        assert self.user_factors is not None and self.item_factors is not None
        return self.user_factors[rows] @ self.item_factors.T, None

    @cached_property
    def _seen_scored(self) -> sp.csr_matrix:
        """:attr:`seen` in the columns of :meth:`_scored` (EASE: its items only)."""
        return self.seen if self.item_subset is None else self.seen[:, self.item_subset].tocsr()

    def top_k(self, rows: np.ndarray, k: int, *, exclude_seen: bool = True,
              batch: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Item positions and scores of the ``k`` best items per user, best first. Users are
        scored ``batch`` at a time (by default enough for about :data:`SCORES_PER_BATCH`
        scores), so memory stays bounded for any number of users."""
        k = min(k, len(self.items))
        batch = batch or max(16, SCORES_PER_BATCH // max(1, len(self.items)))
        out_items = np.empty((len(rows), k), dtype=np.int64)
        out_scores = np.empty((len(rows), k), dtype=np.float32)
        for start in range(0, len(rows), batch):
            part = rows[start:start + batch]
            scores, columns = self._scored(part)
            if columns is not None and len(columns) < k:  # fewer scored items than asked
                scores, columns = self.scores(part), None
            if exclude_seen:
                seen = (self.seen if columns is None else self._seen_scored)[part]
                scores[np.repeat(np.arange(len(part)), np.diff(seen.indptr)), seen.indices] = -np.inf
            best, best_scores = best_of(scores, k)
            out_items[start:start + len(part)] = best if columns is None else columns[best]
            out_scores[start:start + len(part)] = best_scores
        return out_items, out_scores

    def recommend(self, user_ids: list[str], k: int = 10, *,
                  exclude_seen: bool = True) -> list[list[tuple[str, float]]]:
        """(item id, score) lists for user ids; an unknown user gets the most popular items."""
        rows = self.user_index(user_ids)
        known = rows >= 0
        answer: list[list[tuple[str, float]]] = [[] for _ in user_ids]
        if known.any():
            items, scores = self.top_k(rows[known], k, exclude_seen=exclude_seen)
            for slot, its, scs in zip(np.flatnonzero(known), items, scores, strict=True):
                answer[slot] = [(str(self.items[i]), float(s)) for i, s in zip(its, scs, strict=True)
                                if np.isfinite(s)]
        if (~known).any():
            fallback = self.most_popular(k)
            for slot in np.flatnonzero(~known):
                answer[slot] = fallback
        return answer

    def most_popular(self, k: int) -> list[tuple[str, float]]:
        counts = np.asarray(self.seen.sum(axis=0)).ravel()
        best = np.argsort(-counts, kind="stable")[:k]
        return [(str(self.items[i]), float(counts[i])) for i in best]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "users.npy", self.users)
        np.save(folder / "items.npy", self.items)
        sp.save_npz(folder / "seen.npz", self.seen)
        for name in ARRAYS:
            value = getattr(self, name)
            if value is not None:
                np.save(folder / f"{name}.npy", value)
        for name in SPARSE:
            if getattr(self, name) is not None:
                sp.save_npz(folder / f"{name}.npz", getattr(self, name))
        (folder / "recommender.json").write_text(json.dumps(
            {"kind": self.kind, "params": self.params}, default=str))

    @classmethod
    def load(cls, folder: Path) -> RecModel:
        meta = json.loads((folder / "recommender.json").read_text())

        def array(name: str) -> np.ndarray | None:
            path = folder / f"{name}.npy"
            return np.load(path, allow_pickle=False) if path.exists() else None

        def sparse(name: str) -> sp.csr_matrix | None:
            path = folder / f"{name}.npz"
            return sp.csr_matrix(sp.load_npz(path)) if path.exists() else None

        state: dict[str, Any] = {name: array(name) for name in ARRAYS}
        state.update({name: sparse(name) for name in SPARSE})
        return cls(kind=meta["kind"], params=meta["params"],
                   users=np.load(folder / "users.npy", allow_pickle=False),
                   items=np.load(folder / "items.npy", allow_pickle=False),
                   seen=sp.csr_matrix(sp.load_npz(folder / "seen.npz")), **state)


def best_of(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of each row's ``k`` largest scores, largest first.

    With many items, ``argpartition`` over whole rows is most of the time of top-K (twice the
    matrix product at 20,000 items), so each row's columns are dealt into groups of
    :data:`BLOCK` first: the ``k`` groups with the largest maxima hold every one of the row's
    ``k`` largest scores (any other group's maximum is at most the k-th largest, which k other
    groups already reach), and only their ``k × BLOCK`` columns are partitioned. A group is
    every G-th column (G = items // BLOCK), so its maxima are an elementwise ``maximum`` of
    BLOCK contiguous slices (vectorised), not a reduction of short rows (six times slower).
    A fifth of argpartition's time at 20,000 items. Ties at the k-th value are broken in no
    promised order; the answer is the same for the same scores.
    """
    n, m = scores.shape
    if k == 0 or n == 0:
        return np.empty((n, k), dtype=np.int64), np.empty((n, k), dtype=scores.dtype)
    columns: np.ndarray | None = None
    candidates = scores
    if m > 4 * k * BLOCK:
        groups = m // BLOCK
        whole = groups * BLOCK
        maxima = scores[:, :whole].reshape(n, BLOCK, groups).max(axis=1)
        chosen = np.argpartition(maxima, -k, axis=1)[:, -k:]
        columns = (chosen[:, :, None] + groups * np.arange(BLOCK)).reshape(n, k * BLOCK)
        if whole < m:  # the columns after the last whole block are always candidates
            columns = np.concatenate(
                [columns, np.broadcast_to(np.arange(whole, m), (n, m - whole))], axis=1)
        # a flat take: a third of take_along_axis's time (no broadcast index arrays)
        candidates = np.take(np.ascontiguousarray(scores).reshape(-1),
                             columns + (np.arange(n) * m)[:, None])
    best = np.argpartition(candidates, -k, axis=1)[:, -k:]
    values = np.take_along_axis(candidates, best, axis=1)
    if columns is not None:
        best = np.take_along_axis(columns, best, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    return np.take_along_axis(best, order, axis=1), np.take_along_axis(values, order, axis=1)


ARRAYS = ("user_factors", "item_factors", "popularity", "item_subset", "item_weights")
SPARSE = ("similarity", "profile")


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """EASE's ``B`` from the Gram matrix ``XᵀX`` (float64, overwritten): ``P = (XᵀX + λI)⁻¹``
    by Cholesky (half the work of a general inverse), ``B = -P / diag(P)``, zero diagonal."""
    from scipy.linalg import lapack

    gram[np.diag_indices_from(gram)] += l2
    factor, info = lapack.dpotrf(gram, lower=False, overwrite_a=True, clean=False)
    if info == 0:
        inverse, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise PipelineError(f"EASE: XᵀX + {l2}·I is not positive definite (LAPACK info "
                            f"{info}); raise l2")
    upper = np.triu(inverse)
    inverse = upper + np.triu(upper, 1).T
    weights = inverse / -np.diag(inverse)
    weights[np.diag_indices_from(weights)] = 0.0
    return weights.astype(np.float32)


def _fit_ease(model: RecModel, params: dict[str, Any], data: Interactions,
              weighted: sp.csr_matrix) -> RecModel:
    limit = int(params.get("max_items", EASE_ITEMS))
    takers = np.bincount(data.matrix.indices, minlength=len(data.items))  # users per item
    subset = np.sort(np.argsort(-takers, kind="stable")[:limit])
    profile = weighted[:, subset].tocsr().astype(np.float32)
    gram = (profile.T @ profile).toarray().astype(np.float64)
    model.item_subset = subset
    model.item_weights = ease_weights(gram, float(params.get("l2", 300.0)))
    model.profile = profile
    return model


def fit_recommender(kind: str, params: dict[str, Any], data: Interactions, *,
                    seed: int = 0) -> RecModel:
    """Fit one kind with its parameters (``factors``, ``iterations``, ``regularization``,
    ``alpha``, ``learning_rate``, ``neighbours``; EASE's ``l2`` and ``max_items``; and
    ``half_life_days`` for ALS and EASE: recency weighting, needs interactions with times)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit's advice for its own loops
    model = RecModel(kind=cast("Kind", kind), users=data.users, items=data.items, seen=data.matrix,
                     params=dict(params))
    if kind == "popularity":
        model.popularity = np.asarray((data.matrix > 0).sum(axis=0), dtype=np.float32).ravel()
        return model
    half_life = params.get("half_life_days")
    weighted = data.weighted(None if half_life is None else float(half_life))
    if kind == "ease":
        return _fit_ease(model, params, data, weighted)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # implicit's BLAS-thread and input-format hints
        if kind == "cosine":
            from implicit.nearest_neighbours import CosineRecommender

            fitted = CosineRecommender(K=int(params.get("neighbours", 50)))
            fitted.fit(data.matrix, show_progress=False)
            model.similarity = fitted.similarity.tocsr().astype(np.float32)
            return model
        if kind == "als":
            from implicit.cpu.als import AlternatingLeastSquares

            fitted = AlternatingLeastSquares(
                factors=int(params.get("factors", 64)),
                regularization=float(params.get("regularization", 0.01)),
                alpha=float(params.get("alpha", 1.0)),
                iterations=int(params.get("iterations", 15)), random_state=seed)
            fitted.fit(weighted, show_progress=False)
        elif kind == "bpr":
            from implicit.cpu.bpr import BayesianPersonalizedRanking

            fitted = BayesianPersonalizedRanking(
                factors=int(params.get("factors", 64)),
                learning_rate=float(params.get("learning_rate", 0.01)),
                regularization=float(params.get("regularization", 0.01)),
                iterations=int(params.get("iterations", 100)), random_state=seed)
            fitted.fit(data.matrix, show_progress=False)
        else:
            raise PipelineError(f"unknown recommender kind {kind!r}; expected one of "
                                f"{', '.join(KINDS)}")
    model.user_factors = np.ascontiguousarray(fitted.user_factors, dtype=np.float32)
    model.item_factors = np.ascontiguousarray(fitted.item_factors, dtype=np.float32)
    return model
