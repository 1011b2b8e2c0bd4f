"""Recommender pieces: time split, models' top-K, ranking metrics by hand, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shipyard.recsys import Interactions, RecModel, fit_recommender, per_user_metrics, time_split


def purchases() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 4000
    users = rng.integers(0, 200, n)
    items = (users % 10) * 5 + rng.integers(0, 5, n)  # each user group likes 5 items
    return pd.DataFrame({"customer_id": [f"C{u:03d}" for u in users],
                         "product_id": [f"P{i:03d}" for i in items],
                         "order_date": rng.integers(0, 365, n)})


def test_the_time_split_holds_out_each_users_latest_fifth() -> None:
    frame = purchases()
    train, test = time_split(frame, "customer_id", "order_date", 0.2)
    assert len(train) + len(test) == len(frame)
    for user, rows in test.groupby("customer_id"):
        history = train[train["customer_id"] == user]
        assert rows["order_date"].min() >= history["order_date"].max()
        total = (frame["customer_id"] == user).sum()
        assert len(rows) == max(1, int(total * 0.2))


def test_ids_outside_the_known_ones_are_dropped() -> None:
    known = Interactions.from_frame(purchases(), "customer_id", "product_id")
    other = pd.DataFrame({"customer_id": ["C000", "NEW"], "product_id": ["P000", "P000"]})
    found = Interactions.from_frame(other, "customer_id", "product_id", users=known.users,
                                    items=known.items)
    assert found.matrix.nnz == 1 and found.matrix.shape == known.matrix.shape


PARAMS = {"als": {"factors": 8, "iterations": 10},
          "bpr": {"factors": 16, "iterations": 200, "learning_rate": 0.05}, "cosine": {}}


def split_purchases() -> tuple[Interactions, Interactions]:
    train, test = time_split(purchases(), "customer_id", "order_date")
    data = Interactions.from_frame(train, "customer_id", "product_id")
    truth = Interactions.from_frame(test, "customer_id", "product_id", users=data.users,
                                    items=data.items)
    return data, truth


@pytest.mark.parametrize("kind", ["als", "bpr", "cosine"])
def test_every_personalised_kind_learns_the_groups_popularity_cannot(kind: str,
                                                                     tmp_path: Path) -> None:
    data, truth = split_purchases()
    baseline = fit_recommender("popularity", {}, data)
    model = fit_recommender(kind, PARAMS[kind], data, seed=0)
    ours = per_user_metrics(model, truth.matrix, 10).mean()
    theirs = per_user_metrics(baseline, truth.matrix, 10).mean()
    assert ours["map_at_k"] > 5 * theirs["map_at_k"] and ours["auc"] > 0.95
    model.save(tmp_path / kind)
    back = RecModel.load(tmp_path / kind)
    rows = np.arange(len(model.users))
    assert (back.top_k(rows, 5)[0] == model.top_k(rows, 5)[0]).all()


def test_ranking_metrics_match_a_hand_computed_case() -> None:
    # one user, items 0..4; the model ranks 4, 3, 2, 1, 0; the user took items 3 and 0 later
    model = RecModel(kind="popularity", users=np.array(["u"]), items=np.array(list("abcde")),
                     seen=sp.csr_matrix((1, 5), dtype=np.float32),
                     popularity=np.array([1, 2, 3, 4, 5], dtype=np.float32))
    test = sp.csr_matrix(np.array([[1, 0, 0, 1, 0]], dtype=np.float32))
    got = per_user_metrics(model, test, k=3).iloc[0]
    assert got["precision_at_k"] == pytest.approx(1 / 3)  # hit at rank 2 only
    assert got["map_at_k"] == pytest.approx((1 / 2) / 2)  # precision@2 over min(2, 3)
    ideal = 1 + 1 / np.log2(3)
    assert got["ndcg_at_k"] == pytest.approx((1 / np.log2(3)) / ideal)
    # positives 3 and 0 against negatives 4, 2, 1: 3 beats 2 of 3, 0 beats none
    assert got["auc"] == pytest.approx(2 / 6)


def test_seen_items_are_excluded_only_when_asked() -> None:
    seen = sp.csr_matrix(np.array([[0, 0, 0, 0, 1]], dtype=np.float32))
    model = RecModel(kind="popularity", users=np.array(["u"]), items=np.array(list("abcde")),
                     seen=seen, popularity=np.array([1, 2, 3, 4, 5], dtype=np.float32))
    assert model.top_k(np.array([0]), 2, exclude_seen=True)[0].tolist() == [[3, 2]]
    assert model.top_k(np.array([0]), 2, exclude_seen=False)[0].tolist() == [[4, 3]]
    # an unknown customer gets the most taken items (here only 'e' was ever taken)
    assert model.recommend(["nobody"], 2)[0][0][0] == "e"
