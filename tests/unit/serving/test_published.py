"""The server answers recommendations from its in-memory copy of the current published set:
a new publish is served once the server has checked the pointer again (and never mixed with
the set before), a customer the set does not hold is a 404 before and after the swap, the
memory held stays within its bound, and all of it on SQLite and on the team's PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shipyard.batch.results import ResultsStore
from shipyard.project import Project
from shipyard.serving import ApiKeys, create_app
from shipyard.serving.published import PublishedRows
from tests.unit.pipeline.test_project import demo_project

KEY = "k" * 24
PATIENCE_S = 30.0


@pytest.fixture(params=["sqlite", "postgresql"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Project]:
    """The demo project (no recommender model: no popularity fallback), its results database
    SQLite or PostgreSQL."""
    options = {} if request.param == "sqlite" else {"results_db": request.getfixturevalue(
        "pg_url")}
    project = demo_project(tmp_path / "demo", **options)
    yield project
    project.results_engine.dispose()


def _set(store: ResultsStore, version: int, customers: dict[str, str]) -> str:
    """Publish a set: each customer's one product; the new set's id."""
    return store.write("recommender", version, 1,
                       [[(c, [p], [1.0]) for c, p in customers.items()]]).id


def test_a_publish_is_served_after_the_swap_and_an_absent_customer_stays_404(
        project: Project) -> None:
    store = ResultsStore.of(project)
    first = _set(store, 1, {"A": "p1", "B": "p2"})
    with TestClient(create_app(project, ApiKeys([KEY])),
                    headers={"Authorization": f"Bearer {KEY}"}) as client:
        answer = client.get("/v1/recommendations/A").json()
        assert (answer["set_id"], answer["version"], answer["items"]) == (
            first, 1, [{"product_id": "p1", "score": 1.0}])
        assert client.get("/v1/recommendations/NOBODY").status_code == 404
        second = _set(store, 2, {"A": "p9", "C": "p3"})  # B is not in the new set
        deadline = time.monotonic() + PATIENCE_S
        while (answer := client.get("/v1/recommendations/A").json())["set_id"] != second:
            assert answer["set_id"] == first and answer["items"][0]["product_id"] == "p1", answer
            assert time.monotonic() < deadline, f"set {second} not served: {answer}"
        assert (answer["version"], answer["items"]) == (2, [{"product_id": "p9", "score": 1.0}])
        assert client.get("/v1/recommendations/C").json()["set_id"] == second
        for absent in ("B", "NOBODY"):  # B was held from the first set: not served from it
            gone = client.get(f"/v1/recommendations/{absent}")
            assert gone.status_code == 404, gone.text
            assert f"no recommendations for customer {absent!r}" in gone.json()["detail"]


def test_rows_are_held_within_the_bound_and_checked_again_only_when_due(
        project: Project) -> None:
    store = ResultsStore.of(project)
    first = _set(store, 1, {f"C{i}": f"p{i}" for i in range(5)})
    now = [0.0]
    rows = PublishedRows(store, "recommender", check_every_s=10, max_rows=2,
                         clock=lambda: now[0])

    async def ask(*customers: str) -> list[tuple[str, int, list[tuple[str, float]]] | None]:
        return [await rows.find(c) for c in customers]

    assert asyncio.run(ask("C0", "C1", "C2", "NOBODY")) == [
        (first, 1, [("p0", 1.0)]), (first, 1, [("p1", 1.0)]), (first, 1, [("p2", 1.0)]), None]
    held = rows._held
    assert held is not None and list(held.rows) == ["C2", "NOBODY"]  # the two last asked
    second = _set(store, 2, {"C0": "q0"})
    now[0] = 9.9  # not due yet: the set checked at 0 answers
    assert asyncio.run(ask("C0")) == [(first, 1, [("p0", 1.0)])]
    now[0] = 10.0
    assert asyncio.run(ask("C0", "C1")) == [(second, 2, [("q0", 1.0)]), None]


def test_nothing_published_is_none_until_a_set_is(project: Project) -> None:
    store = ResultsStore.of(project)
    now = [0.0]
    rows = PublishedRows(store, "recommender", check_every_s=1, clock=lambda: now[0])
    assert asyncio.run(rows.find("A")) is None
    made = _set(store, 3, {"A": "p1"})
    now[0] = 1.0
    assert asyncio.run(rows.find("A")) == (made, 3, [("p1", 1.0)])
