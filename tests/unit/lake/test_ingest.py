"""Ingest, landing, quarantine and curated rebuilds called as a library, in this process.

The CLI tests (tests/e2e/test_lake_*.py) show what a user sees; these show what the library
does with one small incremental table, fast enough to run on every change.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from shipyard.errors import DataRejected, ShipyardError
from shipyard.lake.ingest import IngestResult, ingest
from shipyard.lake.quarantine import accept, quarantined
from shipyard.project import Project

PROJECT_YAML = """\
project: shop
environments:
  dev: {lake: lake}
sources:
  src: {url: "sqlite:///src.db"}
tables:
  events:
    source: src
    table: events
    mode: incremental
    watermark: id
    primary_key: [id]
    clean: {types: {qty: int32}, pii: [email]}
    validation:
      expectations:
        kind: {not_null: true, allowed: [a, b, c]}
curated:
  per_kind:
    sql: SELECT kind, count(*) AS n, sum(qty) AS qty FROM events GROUP BY kind
"""


def add_events(root: Path, start: int, count: int, seed: int, kinds: tuple[str, ...] = "abc"
               ) -> None:
    """Append ``count`` events with ids from ``start``, drawn from one distribution."""
    rng = np.random.default_rng(seed)
    ids = range(start, start + count)
    rows = zip(ids, rng.choice(list(kinds), count).tolist(), rng.integers(1, 10, count).tolist(),
               (f"user{i}@example.com" for i in ids), strict=True)
    with sqlite3.connect(root / "src.db") as con:
        con.execute("CREATE TABLE IF NOT EXISTS events "
                    "(id INTEGER PRIMARY KEY, kind TEXT, qty INTEGER, email TEXT)")
        con.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", rows)
    con.close()


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "shipyard.yaml").write_text(PROJECT_YAML)
    add_events(tmp_path, 0, 2000, seed=1)
    return Project.open(tmp_path, "dev")


def table(project: Project, layer: str, name: str) -> pa.Table:
    return DeltaTable(str(project.root / "lake" / layer / name)).to_pyarrow_table()


def version(project: Project, layer: str, name: str) -> int:
    return DeltaTable(str(project.root / "lake" / layer / name)).version()


def statuses(result: IngestResult) -> dict[str, str]:
    return {o.table: o.status for o in result.outcomes}


def test_an_ingest_lands_raw_clean_and_curated_without_pii(project: Project) -> None:
    result = ingest(project)
    assert statuses(result) == {"events": "landed"}
    assert [b.name for b in result.curated] == ["per_kind"]
    assert result.snapshot is not None
    assert table(project, "raw", "events").num_rows == 2000
    clean = table(project, "clean", "events")
    assert clean.num_rows == 2000 and clean.schema.field("qty").type == pa.int32()
    assert "email" in table(project, "raw", "events").column_names
    assert "email" not in clean.column_names  # PII never selected into CLEAN
    curated = table(project, "curated", "per_kind").to_pydict()
    assert sorted(curated["kind"]) == ["a", "b", "c"] and sum(curated["n"]) == 2000


def test_only_new_rows_land_and_an_unchanged_source_lands_nothing(project: Project) -> None:
    ingest(project)
    before = version(project, "raw", "events")
    again = ingest(project)
    assert statuses(again) != {"events": "landed"}
    assert version(project, "raw", "events") == before
    add_events(project.root, 2000, 500, seed=2)
    more = ingest(project)
    assert statuses(more) == {"events": "landed"}
    ids = table(project, "raw", "events").column("id").to_pylist()
    assert len(ids) == len(set(ids)) == 2500
    assert sum(table(project, "curated", "per_kind").column("n").to_pylist()) == 2500


def ingest_rejected(project: Project) -> IngestResult | None:
    """Ingest a batch that must be rejected; its result, when the library returns one."""
    try:
        result = ingest(project)
    except DataRejected:
        return None
    assert statuses(result) == {"events": "rejected"}
    return result


def test_a_rejected_batch_waits_in_quarantine_and_lands_once_accepted(project: Project) -> None:
    ingest(project)
    before = {layer: version(project, layer, name) for layer, name in
              (("raw", "events"), ("clean", "events"), ("curated", "per_kind"))}
    add_events(project.root, 2000, 300, seed=3, kinds=("a", "b", "zzz"))
    ingest_rejected(project)
    assert {layer: version(project, layer, name) for layer, name in
            (("raw", "events"), ("clean", "events"), ("curated", "per_kind"))} == before
    waiting = quarantined(project)
    assert [b.table_name for b in waiting] == ["events"]
    with pytest.raises(ShipyardError, match="reason"):
        accept(project, waiting[0].id, reason=" ")
    accepted = accept(project, waiting[0].id, reason="zzz is a new kind, approved")
    assert [b.name for b in accepted.curated] == ["per_kind"]
    assert quarantined(project) == []
    assert table(project, "raw", "events").num_rows == 2300
    kinds = table(project, "curated", "per_kind").column("kind").to_pylist()
    assert "zzz" in kinds


def test_an_ingest_with_two_rejected_batches_lands_once_both_are_accepted(
        project: Project) -> None:
    config = project.root / "shipyard.yaml"
    mirror = PROJECT_YAML.split("tables:\n", 1)[1].split("curated:", 1)[0].replace(
        "  events:\n", "  mirror:\n", 1)  # a second table read from the same source
    config.write_text(config.read_text().replace("curated:", mirror + "curated:", 1))
    project = Project.open(project.root, "dev")
    ingest(project)
    add_events(project.root, 2000, 300, seed=3, kinds=("a", "b", "zzz"))
    with pytest.raises(DataRejected):
        ingest(project)
    first, second = quarantined(project)
    before = {name: version(project, "raw", name) for name in ("events", "mirror")}
    waiting = accept(project, first.id, reason="zzz is a new kind")
    assert waiting.snapshot is None and [b.id for b in waiting.waiting] == [second.id]
    assert waiting.batch.status == "accepted" and waiting.batch.accepted_by
    assert {name: version(project, "raw", name) for name in ("events", "mirror")} == before
    assert quarantined(project) == [second]  # what still needs a person
    landed = accept(project, second.id, reason="zzz is a new kind")
    assert sorted(b.id for b in landed.landed) == [first.id, second.id]
    assert all(b.status == "landed" and b.accepted_by for b in landed.landed)
    assert landed.snapshot is not None and {
        key: landed.snapshot.versions[key] for key in ("raw.events", "raw.mirror")} == {
        f"raw.{name}": before[name] + 1 for name in before}
    assert quarantined(project) == []
