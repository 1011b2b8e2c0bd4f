"""PII declared in shipyard.yaml never reaches CLEAN or CURATED, and cannot be asked for."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.e2e.cli import run
from tests.e2e.lake_checks import strings_in_files, versions


def test_no_pii_value_is_written_under_clean_or_curated(events_project: Path) -> None:
    run("ingest", cwd=events_project)
    with sqlite3.connect(events_project / "src.db") as con:
        emails = [row[0] for row in con.execute("SELECT email FROM events")]
    lake = events_project / "lake"
    _, raw_values, _ = strings_in_files(lake / "raw")
    assert emails[0] in raw_values  # RAW keeps the source as it came: the scan can see them
    for layer in ("clean", "curated"):
        data, decoded, columns = strings_in_files(lake / layer)
        assert "email" not in columns
        assert not decoded.intersection(emails)
        assert b"@example.com" not in data


def test_a_curated_query_naming_a_pii_column_fails_clearly(events_project: Path) -> None:
    run("ingest", cwd=events_project)
    before = versions(events_project / "lake")
    config = events_project / "shipyard.yaml"
    config.write_text(config.read_text() + "  contacts:\n    sql: SELECT id, email FROM events\n")
    done = run("ingest", cwd=events_project, check=1)
    assert ("curated.contacts.sql names column 'email', which tables.events.clean.pii declares "
            "personal data") in " ".join(done.stderr.split())
    assert versions(events_project / "lake") == before
