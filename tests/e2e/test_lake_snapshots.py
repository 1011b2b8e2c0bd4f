"""An ingest is one lake-wide snapshot: killed anywhere, readers see all of it or none of it."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from deltalake import DeltaTable

from tests.e2e.cli import python, run
from tests.e2e.examples import ExampleProjects
from tests.e2e.lake_checks import published, staged_files, versions

TABLES = ("customers", "products", "orders", "order_lines")


@pytest.fixture
def shop(tmp_path: Path, example_projects: ExampleProjects) -> Path:
    """The recommender example refilled small (300 customers, 3 months) and ingested."""
    return example_projects.copy("recommender-small-ingested", tmp_path / "shop")


def listed(shop: Path) -> dict[str, int]:
    """``layer.table`` → version as ``shipyard lake ls`` prints it."""
    out = run("lake", "ls", cwd=shop).stdout
    return {f"{m[1]}.{m[2]}": int(m[3])
            for m in re.finditer(r"│ (raw|clean|curated)\s+│ (\w+)\s+│\s+(\d+) │", out)}


def source_rows(shop: Path, table: str) -> int:
    with sqlite3.connect(shop / "erp.db") as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.mark.parametrize("point", ["after-raw", "after-landing", "before-snapshot"])
def test_a_killed_ingest_is_invisible_until_the_next_one_publishes_it(
    shop: Path, point: str
) -> None:
    lake = shop / "lake"
    first, before = published(lake)
    python("erp.py", "next-month", cwd=shop)
    killed = run("ingest", cwd=shop, env={"SHIPYARD_KILL_AT": point}, check=None)
    assert killed.returncode == -9

    # Some tables were written past the snapshot; readers still see the snapshot, whole.
    assert versions(lake) != before
    assert published(lake) == (first, before)
    assert listed(shop) == before
    assert "Not published: newer versions of" in run("lake", "ls", cwd=shop).stdout
    shown = run("lake", "show", "customers", "--layer", "clean", cwd=shop).stdout
    assert f"clean.customers version {before['clean.customers']} " in shown

    run("ingest", cwd=shop)
    second, after = published(lake)
    assert second == first + 1
    assert after == versions(lake)  # everything written is now published
    assert listed(shop) == after
    for table in TABLES:
        rows = DeltaTable(str(lake / "clean" / table), version=after[f"clean.{table}"])
        assert rows.to_pyarrow_table().num_rows == source_rows(shop, table)
    assert staged_files(shop) == []


def test_history_lists_published_versions_with_their_snapshot(shop: Path) -> None:
    python("erp.py", "next-month", cwd=shop)
    run("ingest", cwd=shop, env={"SHIPYARD_KILL_AT": "before-snapshot"}, check=None)
    history = run("lake", "history", "order_lines", "--layer", "clean", cwd=shop).stdout
    assert "1 versions" in history  # version 1 exists in Delta but is not published
    refused = run("lake", "show", "order_lines", "--version", "1", cwd=shop, check=1)
    assert "not published" in refused.stderr
    run("ingest", cwd=shop)
    history = run("lake", "history", "order_lines", "--layer", "clean", cwd=shop).stdout
    assert "2 versions" in history
    assert re.search(r"│\s+1 │\s+2 │", history)  # version 1, published by snapshot 2
