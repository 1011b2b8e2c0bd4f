"""Batches the lake must refuse, and what must be left behind when it does (issue 8: 5, 7, 8, 12).

Each test changes the source (or the config) the way a real ERP change would, runs the ingest
through the CLI, and checks the exit code, the message, the quarantine and the lake.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.e2e.cli import run
from tests.e2e.conftest import add_events
from tests.e2e.lake_checks import staged_files, versions


def batch_statuses(project: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(project / ".shipyard" / "dev" / "metadata.db") as con:
        return con.execute("SELECT id, table_name, status FROM shipyard_batches "
                           "ORDER BY id").fetchall()


def test_a_column_that_became_all_null_is_rejected_by_its_null_rate(
    events_project: Path,
) -> None:
    run("ingest", cwd=events_project)
    before = versions(events_project / "lake")
    add_events(events_project, 100_000, 20_000, seed=2)
    with sqlite3.connect(events_project / "src.db") as con:
        con.execute("UPDATE events SET kind = NULL WHERE id >= 100000")
    done = run("ingest", cwd=events_project, check=3)
    text = " ".join(done.stdout.split())
    assert "kind" in text and "null rate" in text
    assert versions(events_project / "lake") == before
    assert batch_statuses(events_project)[-1][2] == "rejected"
    assert staged_files(events_project) == []


def test_a_numeric_column_that_became_text_is_a_schema_rejection_not_a_crash(
    events_project: Path,
) -> None:
    config = events_project / "shipyard.yaml"
    config.write_text(config.read_text().replace(
        "    primary_key: [id]\n",
        "    primary_key: [id]\n    validation: {expectations: {qty: {min: 1, max: 9}}}\n"))
    run("ingest", cwd=events_project)
    before = versions(events_project / "lake")
    add_events(events_project, 100_000, 20_000, seed=2)
    with sqlite3.connect(events_project / "src.db") as con:
        con.execute("UPDATE events SET qty = 'n/a' WHERE id >= 100000")
    done = run("ingest", cwd=events_project, check=3)
    text = " ".join(done.stdout.split())
    assert "Traceback" not in done.stderr
    assert "'qty' changed type from int64 to string" in text
    assert versions(events_project / "lake") == before
    assert [s for _, _, s in batch_statuses(events_project)] == ["landed", "rejected"]
    quarantined = events_project / ".shipyard" / "dev" / "quarantine"
    assert [p.name for p in quarantined.iterdir()] == ["2.parquet"]
    assert staged_files(events_project) == []


def test_a_renamed_column_is_a_schema_failure_not_an_identical_batch(
    events_project: Path,
) -> None:
    config = events_project / "shipyard.yaml"
    config.write_text(config.read_text().replace("    mode: incremental\n    watermark: id\n", "")
                      .replace("clean: {types: {qty: int32}, pii: [email]}",
                               "clean: {pii: [email]}")
                      .replace("sum(qty)", "count(*)"))
    run("ingest", cwd=events_project)
    with sqlite3.connect(events_project / "src.db") as con:
        con.execute("ALTER TABLE events RENAME COLUMN qty TO quantity")
    done = run("ingest", cwd=events_project, check=3)
    text = " ".join(done.stdout.split())
    assert "identical" not in text
    assert "column 'qty' renamed to 'quantity'" in text


def test_a_broken_curated_query_is_found_before_anything_lands(events_project: Path) -> None:
    run("ingest", cwd=events_project)
    before = versions(events_project / "lake")
    config = events_project / "shipyard.yaml"
    config.write_text(config.read_text() + "  broken:\n    sql: SELECT kind, nope FROM events\n")
    add_events(events_project, 100_000, 20_000, seed=2)
    done = run("ingest", cwd=events_project, check=1)
    message = " ".join(done.stderr.split())
    assert "curated.broken" in message and "nope" in message
    assert "Traceback" not in done.stderr
    assert versions(events_project / "lake") == before
    assert staged_files(events_project) == []


def test_a_broken_curated_query_is_found_when_only_the_config_changed(
    events_project: Path,
) -> None:
    run("ingest", cwd=events_project)
    config = events_project / "shipyard.yaml"
    config.write_text(config.read_text().replace("sum(qty) AS qty", "sum(qty) AS qty, nope"))
    done = run("ingest", cwd=events_project, check=1)
    assert "curated.per_kind" in done.stderr and "nope" in done.stderr


def test_a_changed_curated_query_is_rebuilt_without_new_data(events_project: Path) -> None:
    run("ingest", cwd=events_project)
    config = events_project / "shipyard.yaml"
    config.write_text(config.read_text().replace("sum(qty) AS qty", "sum(qty) AS qty, 1 AS one"))
    run("ingest", cwd=events_project)
    assert versions(events_project / "lake")["curated.per_kind"] == 1


def test_staged_files_of_failed_and_killed_ingests_are_removed(events_project: Path) -> None:
    run("ingest", cwd=events_project)
    add_events(events_project, 100_000, 20_000, seed=2)
    # Killed once the batch is staged in full, before its record says where the file is.
    killed = run("ingest", cwd=events_project, env={"SHIPYARD_KILL_AT": "after-staging"},
                 check=None)
    assert killed.returncode == -9
    assert staged_files(events_project) != []
    run("ingest", cwd=events_project)
    assert staged_files(events_project) == []
    assert [s for _, _, s in batch_statuses(events_project)] == ["landed", "abandoned", "landed"]


def test_a_rejection_killed_before_its_file_moved_ends_in_quarantine(
    events_project: Path,
) -> None:
    run("ingest", cwd=events_project)
    add_events(events_project, 100_000, 20_000, seed=2)
    with sqlite3.connect(events_project / "src.db") as con:
        con.execute("UPDATE events SET kind = NULL WHERE id >= 100000")
    killed = run("ingest", cwd=events_project, env={"SHIPYARD_KILL_AT": "before-quarantine-move"},
                 check=None)
    assert killed.returncode == -9
    run("ingest", cwd=events_project, check=3)  # recovers, then rejects the same rows again
    assert staged_files(events_project) == []
    shown = run("quarantine", "show", "2", cwd=events_project).stdout
    assert "null_rate" in shown
    assert (events_project / ".shipyard" / "dev" / "quarantine" / "2.parquet").is_file()
