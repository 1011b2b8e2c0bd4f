"""Recommendation sets: every customer's row written and read back exactly, on SQLite
(executemany) and PostgreSQL (COPY), including text that COPY's format must escape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import sqlalchemy as sa

from shipyard.batch.recommend import _rows
from shipyard.batch.results import ResultsStore
from shipyard.recsys import RecModel

AWKWARD = ["tab\there", "back\\slash", 'quote"d', "new\nline", "ünïcode", "\\N"]


def model(customers: int) -> RecModel:
    """Popularity over the awkward product ids; customer 0 has seen all but two of them."""
    seen = sp.lil_matrix((customers, len(AWKWARD)), dtype=np.float32)
    seen[0, :4] = 1
    return RecModel(kind="popularity", users=np.array([f"C{i:05d}" for i in range(customers)]),
                    items=np.array(AWKWARD), seen=seen.tocsr(),
                    params={"exclude_seen": True},
                    popularity=np.arange(len(AWKWARD), 0, -1).astype(np.float32))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ResultsStore:
    if request.param == "sqlite":
        return ResultsStore(sa.create_engine(f"sqlite:///{tmp_path / 'results.db'}"))
    return ResultsStore(sa.create_engine(request.getfixturevalue("pg_url")))


def test_every_customers_top_k_is_read_back_exactly_in_chunks(store: ResultsStore) -> None:
    fitted = model(2500)
    made = store.write("recommender", 3, 4, _rows(fitted, 4, batch=1000))
    assert made.customers == 2500 and store.current("recommender") == made
    version, first = store.for_customer("recommender", "C00000")
    assert version == 3 and [p for p, _ in first] == AWKWARD[4:]  # only two unseen products
    _, other = store.for_customer("recommender", "C02499")
    assert other == [(p, float(len(AWKWARD) - i)) for i, p in enumerate(AWKWARD[:4])]
    rows = store.set_rows(made.id)
    assert len(rows) == 2500 and all(v == AWKWARD[:4] for c, v in rows.items() if c != "C00000")


def test_a_second_set_replaces_the_first_for_readers(store: ResultsStore) -> None:
    store.write("recommender", 1, 1, [[("A", ["p1"], [1.0])]])
    store.write("recommender", 2, 1, [[("A", ["p2"], [0.5])]])
    assert store.for_customer("recommender", "A") == (2, [("p2", 0.5)])


def test_an_unknown_customer_or_model_has_no_row(store: ResultsStore) -> None:
    assert store.for_customer("recommender", "A") == (None, [])  # nothing published yet
    store.write("recommender", 1, 1, [[("A", ["p1"], [1.0])]])
    assert store.for_customer("recommender", "B") == (None, [])
    assert store.for_customer("other", "A") == (None, [])
