"""Shared e2e fixtures: a small generated fault-test project, and the example projects built once."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.examples import ExampleProjects

PROJECT_YAML = """\
project: faults
environments:
  dev: {lake: lake}
sources:
  src: {url: "sqlite:///src.db", chunk_rows: 20000}
tables:
  events:
    source: src
    table: events
    mode: incremental
    watermark: id
    primary_key: [id]
    clean: {types: {qty: int32}, pii: [email]}
curated:
  per_kind:
    sql: SELECT kind, count(*) AS n, sum(qty) AS qty FROM events GROUP BY kind
"""


def add_events(folder: Path, start: int, count: int, seed: int) -> None:
    """Append ``count`` events with ids from ``start``, drawn from the same distribution."""
    rng = np.random.default_rng(seed)
    ids = np.arange(start, start + count)
    rows = zip(ids.tolist(), rng.choice(["a", "b", "c"], count).tolist(),
               rng.integers(1, 10, count).tolist(), (f"user{i}@example.com" for i in ids),
               strict=True)
    with sqlite3.connect(folder / "src.db") as con:
        con.execute("CREATE TABLE IF NOT EXISTS events "
                    "(id INTEGER PRIMARY KEY, kind TEXT, qty INTEGER, email TEXT)")
        con.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", rows)


@pytest.fixture
def events_project(tmp_path: Path) -> Path:
    (tmp_path / "shipyard.yaml").write_text(PROJECT_YAML)
    add_events(tmp_path, 0, 100_000, seed=1)
    return tmp_path


@pytest.fixture(scope="session")
def example_projects(tmp_path_factory: pytest.TempPathFactory) -> ExampleProjects:
    """Example projects built once per session (across xdist workers); ``.copy`` gives a test its own.

    Under xdist every worker has its own base temp folder inside the session's; the templates
    live in the session's, so the first worker to need one builds it and the others reuse it.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return ExampleProjects(shared / "example-templates")
