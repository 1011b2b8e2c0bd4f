"""Outcomes of published recommendations on hand-made data: values worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from shipyard.batch.results import KEEP, ResultsStore
from shipyard.monitoring.outcomes import (
    Outcome,
    Scores,
    concentration,
    losing_streak,
    popularity_baseline,
    score,
)


def test_hit_rate_precision_and_map_are_those_worked_out_by_hand() -> None:
    recommended = {"A": ["p1", "p2", "p3"], "B": ["p4", "p5", "p6"], "C": ["p1", "p7", "p8"],
                   "E": ["p1", "p2", "p3"]}  # E bought nothing: not scored
    bought = {"A": {"p2"}, "B": {"p9"}, "C": {"p1", "p8"},
              "D": {"p1"}}  # D had no recommendations: not scored
    found = score(recommended, bought, k=3)
    assert found is not None
    # A: hit at rank 2 → AP 1/2, P 1/3; B: none → 0, 0; C: ranks 1 and 3 → AP (1 + 2/3)/2, P 2/3
    assert found.hit_rate == pytest.approx(2 / 3)
    assert found.precision_at_k == pytest.approx((1 / 3 + 0 + 2 / 3) / 3)
    assert found.map_at_k == pytest.approx((1 / 2 + 0 + 5 / 6) / 3)


def test_a_list_shorter_than_k_counts_its_missing_ranks_as_misses() -> None:
    found = score({"A": ["p1"]}, {"A": {"p1"}}, k=4)
    assert found is not None
    assert (found.hit_rate, found.precision_at_k, found.map_at_k) == pytest.approx((1, 0.25, 1))


def test_nobody_to_score_is_none() -> None:
    assert score({"A": ["p1"]}, {"B": {"p1"}}, k=1) is None


def test_the_baseline_is_the_products_most_customers_bought_ties_by_id() -> None:
    rows = pd.DataFrame({"customer": ["A", "A", "B", "B", "C", "C", "C"],
                         "product": ["p3", "p1", "p1", "p2", "p1", "p2", "p2"]})
    assert popularity_baseline(rows, 2) == ["p1", "p2"]
    assert popularity_baseline(rows.iloc[:2], 2) == ["p1", "p3"]
    baseline = score({"A": ["p1", "p2"], "B": ["p1", "p2"]}, {"A": {"p2"}, "B": {"p5"}}, k=2)
    assert baseline is not None
    assert (baseline.hit_rate, baseline.map_at_k) == pytest.approx((0.5, 0.25))


def test_coverage_top_share_and_gini_of_a_small_catalogue() -> None:
    coverage, top, gini = concentration({"A": ["p1", "p2"], "B": ["p1", "p3"]}, catalogue=10)
    # counts 2, 1, 1 and seven zeros: the top 10% (one product) takes 2 of 4
    assert (coverage, top, gini) == pytest.approx((0.3, 0.5, 0.75))
    assert concentration({f"c{i}": [f"p{i}"] for i in range(10)}, 10) == pytest.approx(
        (1.0, 0.1, 0.0))


def test_published_sets_stay_readable_after_newer_ones_up_to_keep(tmp_path: Path) -> None:
    store = ResultsStore(sa.create_engine(f"sqlite:///{tmp_path / 'results.db'}"))
    made = [store.write("recommender", 1, 2, [[("A", ["p1", "p2"], [2.0, 1.0])]])
            for _ in range(3)]
    kept = store.sets("recommender")
    assert [s.id for s in kept] == [m.id for m in made]
    assert store.set_rows(made[0].id) == {"A": ["p1", "p2"]}
    assert store.current("recommender").id == made[-1].id


def test_only_the_newest_keep_sets_are_kept(tmp_path: Path) -> None:
    store = ResultsStore(sa.create_engine(f"sqlite:///{tmp_path / 'results.db'}"))
    first = store.write("recommender", 1, 1, [[("A", ["p1"], [1.0])]])
    with store.engine.begin() as conn:  # KEEP more sets, newer than the first, older than now
        for i in range(KEEP):
            conn.exec_driver_sql(
                "INSERT INTO shipyard_recommendation_sets (id, model, version, k, customers, "
                "created_at) VALUES (?, 'recommender', 1, 1, 1, ?)",
                (f"s{i}", first.created_at + timedelta(microseconds=i + 1)))
    newest = store.write("recommender", 1, 1, [[("A", ["p1"], [1.0])]])
    ids = {s.id for s in store.sets("recommender")}
    assert len(ids) == KEEP and newest.id in ids
    assert first.id not in ids and "s0" not in ids and "s1" in ids
    assert store.set_rows(first.id) == {}


def _outcome(model: float | None, baseline: float | None) -> Outcome:
    def scores(value: float | None) -> Scores | None:
        return None if value is None else Scores(0.5, 0.1, value)

    return Outcome("s", datetime.now(UTC), 1, 10, 100, None, 50, scores(model),
                   scores(baseline), 0.5, 0.3, 0.4, None)


def test_the_losing_streak_counts_the_newest_periods_lost_to_popularity() -> None:
    assert losing_streak([]) == 0
    lost, won, unscored = _outcome(0.149, 0.167), _outcome(0.2, 0.167), _outcome(None, None)
    assert losing_streak([lost, won]) == 0
    assert losing_streak([won, lost, lost]) == 2
    assert losing_streak([lost, won, lost, unscored, lost]) == 2  # an unscored set is skipped
