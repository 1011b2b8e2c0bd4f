"""The recommender's inputs: planted shifts in interactions are found, unshifted ones are not."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from shipyard.config.schema import InteractionColumns, MonitoringSettings
from shipyard.lake.tables import DeltaStore
from shipyard.monitoring.interactions import LakeHistory, features, interaction_results
from shipyard.train.profile import profile_column

PRODUCTS = [f"P{i:03d}" for i in range(100)]
CATEGORIES = pd.Series(["tools" if i < 50 else "plumbing" for i in range(100)], index=PRODUCTS)


def _month(seed: int, *, orders: int = 3000, lines: float = 3.0, popular: slice = slice(0, 100),
           start: int = 0) -> pd.DataFrame:
    """Orders of 500 customers: ``lines`` lines per order on average, products drawn from the
    ``popular`` range of the catalogue (Zipf-like weights)."""
    rng = np.random.default_rng(seed)
    catalogue = PRODUCTS[popular]
    weights = 1 / np.arange(1, len(catalogue) + 1)
    sizes = rng.poisson(lines - 1, orders) + 1
    order = np.repeat(np.arange(start, start + orders), sizes)
    customer = np.repeat(rng.integers(0, 500, orders), sizes)
    return pd.DataFrame({"customer": [f"C{c}" for c in customer], "order": order.astype(str),
                         "product": rng.choice(catalogue, len(order), p=weights / weights.sum())})


def _verdicts(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, bool]:
    base = features(reference, CATEGORIES)
    profiles = {name: profile_column(name, values) for name, values in base.items()}
    found = interaction_results("skew", profiles, base, features(current, CATEGORIES),
                                MonitoringSettings())
    return {r.column: r.test.drifted for r in found}


def test_a_month_like_the_training_snapshot_drifts_nowhere() -> None:
    assert _verdicts(_month(1), _month(2)) == {"orders_per_customer": False,
                                               "basket_size": False, "product": False,
                                               "category": False}


def test_planted_shifts_are_found_each_in_its_own_view() -> None:
    base = _month(1)
    assert _verdicts(base, _month(2, orders=9000))["orders_per_customer"]
    bigger = _verdicts(base, _month(2, lines=6.0))
    assert bigger["basket_size"] and not bigger["category"]
    moved = _verdicts(base, _month(2, popular=slice(50, 100)))  # the plumbing half only
    assert moved["product"] and moved["category"] and not moved["basket_size"]


def test_the_lake_history_knows_what_each_version_held(tmp_path: Path) -> None:
    store = DeltaStore(str(tmp_path))
    columns = InteractionColumns(products=None)
    for month in range(3):
        frame = _month(month, orders=50, start=month * 50)
        day = date(2026, 1 + month, 1)
        table = pa.table({"customer_id": frame["customer"], "product_id": frame["product"],
                          "order_id": frame["order"],
                          "order_date": [day + timedelta(days=int(i) % 28)
                                         for i in range(len(frame))]})
        store.write("clean", "order_lines", table, mode="append", metadata={})
    lake = LakeHistory(store, columns)
    assert [v.version for v in lake.versions] == [0, 1, 2]
    assert [v.last_date for v in lake.versions] == [date(2026, 1, 28), date(2026, 2, 28),
                                                    date(2026, 3, 28)]
    assert lake.categories is None
    added = lake.between(lake.versions[1].last_date, None)
    assert set(added["date"]) <= {date(2026, 3, 1) + timedelta(days=d) for d in range(28)}
    assert len(lake.between(None, None)) == len(lake.rows)
    assert lake.at(lake.versions[1].time) == lake.versions[1]
