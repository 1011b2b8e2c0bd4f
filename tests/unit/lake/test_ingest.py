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
from shipyard.lake.batches import BatchRegister
from shipyard.lake.ingest import IngestResult, ingest
from shipyard.lake.quarantine import accept, quarantined, show
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


def add_events(root: Path, start: int, count: int, seed: int, kinds: tuple[str, ...] = "abc",
               qty: tuple[int, int] = (1, 10)) -> None:
    """Append ``count`` events with ids from ``start``, drawn from one distribution (quantities
    uniform in ``qty``, upper bound excluded)."""
    rng = np.random.default_rng(seed)
    ids = range(start, start + count)
    rows = zip(ids, rng.choice(list(kinds), count).tolist(), rng.integers(*qty, count).tolist(),
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


def reference_of(project: Project, batch_id: int) -> tuple[str, list[int]]:
    """The reference line and batch ids of batch ``batch_id``'s validation report."""
    _, report = show(project, batch_id)
    assert report is not None
    return report.reference, report.reference_batches


def test_an_accepted_anomaly_does_not_become_the_reference_of_the_next_batch(
        project: Project) -> None:
    ingest(project)
    add_events(project.root, 2000, 500, seed=2)
    ingest(project)
    normal = [b.id for b in BatchRegister.of(project).find(status="landed")]
    add_events(project.root, 2500, 500, seed=3, qty=(40, 60))  # a bulk-promotion month
    ingest_rejected(project)
    (anomaly,) = quarantined(project)
    accepted = accept(project, anomaly.id, reason="bulk promotion, a one-off")
    assert accepted.batch.role == "exception"
    add_events(project.root, 3000, 500, seed=4)  # back to normal
    assert statuses(ingest(project)) == {"events": "landed"}
    latest = BatchRegister.of(project).last_landed("events")
    assert latest is not None
    label, ids = reference_of(project, latest.id)
    assert ids == normal  # the normal batches before the anomaly, not the anomaly
    assert f"batch {anomaly.id} accepted as an exception, left out" in label


def test_an_anomaly_accepted_as_the_new_normal_is_the_reference_from_then_on(
        project: Project) -> None:
    ingest(project)
    add_events(project.root, 2000, 500, seed=3, qty=(40, 60))  # the new price list
    ingest_rejected(project)
    (shift,) = quarantined(project)
    accepted = accept(project, shift.id, reason="new price list", as_new_normal=True)
    assert accepted.batch.role == "new_normal"
    add_events(project.root, 2500, 500, seed=4, qty=(40, 60))
    assert statuses(ingest(project)) == {"events": "landed"}  # like the new normal: lands
    latest = BatchRegister.of(project).last_landed("events")
    assert latest is not None
    label, ids = reference_of(project, latest.id)
    assert ids == [shift.id] and "accepted as the new normal" in label
    add_events(project.root, 3000, 500, seed=5)  # like the old normal: rejected now
    ingest_rejected(project)


def test_the_reference_window_is_the_configured_number_of_normal_batches(
        project: Project) -> None:
    config = project.root / "shipyard.yaml"
    config.write_text(config.read_text().replace(
        "    validation:\n", "    validation:\n      reference: {batches: 2}\n", 1))
    project = Project.open(project.root, "dev")
    for month in range(4):
        add_events(project.root, 2000 + 500 * month, 500, seed=10 + month)
        ingest(project)
    landed = [b.id for b in BatchRegister.of(project).find(status="landed")]
    label, ids = reference_of(project, landed[-1])
    assert ids == landed[-3:-1]
    assert label == f"batches {landed[-3]}, {landed[-2]} (the last 2 landed as normal)"


def test_a_batch_accepted_over_a_schema_change_is_the_new_normal(project: Project) -> None:
    ingest(project)
    with sqlite3.connect(project.root / "src.db") as con:
        con.execute("ALTER TABLE events ADD COLUMN channel TEXT")
        con.executemany("INSERT INTO events VALUES (?, 'a', 3, NULL, 'web')",
                        [(i,) for i in range(2000, 2500)])
    con.close()
    ingest_rejected(project)
    (changed,) = quarantined(project)
    accepted = accept(project, changed.id, reason="the source now records the channel")
    assert accepted.batch.role == "new_normal"  # the lake's columns are its columns now
