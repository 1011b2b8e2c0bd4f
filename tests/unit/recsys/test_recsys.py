"""Recommender pieces: time split, models' top-K, ranking metrics by hand, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shipyard.errors import PipelineError
from shipyard.recsys import Interactions, RecModel, fit_recommender, per_user_metrics, time_split
from shipyard.recsys.model import ease_weights


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
          "bpr": {"factors": 16, "iterations": 200, "learning_rate": 0.05}, "cosine": {},
          "ease": {"l2": 10.0, "half_life_days": 90}}


def split_purchases() -> tuple[Interactions, Interactions]:
    train, test = time_split(purchases(), "customer_id", "order_date")
    data = Interactions.from_frame(train, "customer_id", "product_id", time="order_date")
    truth = Interactions.from_frame(test, "customer_id", "product_id", users=data.users,
                                    items=data.items)
    return data, truth


@pytest.mark.parametrize("kind", ["als", "bpr", "cosine", "ease"])
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


def test_ease_weights_match_the_closed_form_of_a_hand_computed_case() -> None:
    # three users, each took two of three items: XᵀX = I + J, so XᵀX + I = 2I + J, whose
    # inverse is I/2 - J/10: P's diagonal 0.4, off-diagonal -0.1, so B = 0.1 / 0.4 = 0.25
    gram = np.array([[2, 1, 1], [1, 2, 1], [1, 1, 2]], dtype=np.float64)
    expected = np.full((3, 3), 0.25)
    np.fill_diagonal(expected, 0.0)
    assert ease_weights(gram.copy(), 1.0) == pytest.approx(expected)
    # and a random case against NumPy's general inverse
    x = np.random.default_rng(1).random((30, 8))
    p = np.linalg.inv(x.T @ x + 5 * np.eye(8))
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    assert ease_weights(x.T @ x, 5.0) == pytest.approx(b.astype(np.float32), rel=1e-4, abs=1e-6)


def test_ease_refuses_a_singular_gram_matrix_with_the_fix() -> None:
    with pytest.raises(PipelineError, match="raise l2"):
        ease_weights(np.zeros((3, 3)), 0.0)


def test_ease_recommends_only_the_items_it_models_and_never_what_was_bought(
        tmp_path: Path) -> None:
    data, _ = split_purchases()
    model = fit_recommender("ease", {"l2": 10.0, "max_items": 20}, data)
    assert len(model.item_subset) == 20 and model.item_weights.shape == (20, 20)
    rows = np.arange(len(model.users))
    items, scores = model.top_k(rows, 5, exclude_seen=True)
    assert np.isin(items, model.item_subset).all()
    seen = data.matrix.toarray() > 0
    finite = np.isfinite(scores)
    assert not seen[np.repeat(rows, 5).reshape(-1, 5)[finite], items[finite]].any()
    # asked for more than it models: the rest are the unmodelled items at -inf, dropped
    answer = model.recommend(list(model.users[:2]), 30)
    assert all(len(a) <= 20 for a in answer)
    model.save(tmp_path / "ease")
    back = RecModel.load(tmp_path / "ease")
    assert back.kind == "ease" and back.params == model.params
    assert (back.top_k(rows, 5)[0] == items).all()
    assert np.array_equal(back.scores(rows[:3]), model.scores(rows[:3]))


def test_recency_weights_halve_per_half_life_before_each_users_latest_interaction() -> None:
    frame = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
                          "product_id": ["x", "y", "x", "x"],
                          "order_date": pd.to_datetime(["2026-01-01", "2026-01-11",
                                                        "2026-01-21", "2020-06-01"])})
    data = Interactions.from_frame(frame, "customer_id", "product_id", time="order_date")
    weighted = data.weighted(10.0).toarray()
    # a: x 20 days and 0 days before a's latest (0.25 + 1), y 10 days (0.5); b: its only row
    assert weighted == pytest.approx(np.array([[1.25, 0.5], [1.0, 0.0]]))
    assert (data.weighted(None) != data.matrix).nnz == 0  # no half-life: plain counts
    seconds = frame.assign(  # Unix seconds, as MovieLens has them
        order_date=(frame["order_date"] - pd.Timestamp(0)).dt.total_seconds().astype("int64"))
    as_numbers = Interactions.from_frame(seconds, "customer_id", "product_id", time="order_date")
    assert as_numbers.weighted(10.0).toarray() == pytest.approx(weighted)
    dates = frame.assign(order_date=frame["order_date"].dt.date)  # the lake's date columns
    as_dates = Interactions.from_frame(dates, "customer_id", "product_id", time="order_date")
    assert as_dates.weighted(10.0).toarray() == pytest.approx(weighted)
    with pytest.raises(PipelineError, match="half_life_days"):
        data.weighted(0.0)


def test_recency_weighted_als_differs_from_plain_als() -> None:
    data, _ = split_purchases()
    plain = fit_recommender("als", PARAMS["als"], data, seed=0)
    recent = fit_recommender("als", {**PARAMS["als"], "half_life_days": 30}, data, seed=0)
    assert not np.allclose(plain.user_factors, recent.user_factors)
