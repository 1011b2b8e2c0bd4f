"""Killed and concurrent ingests: the lake stays readable and no row lands twice."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable

from shipyard.db.locks import FolderLocks
from shipyard.lake.locks import table_locks
from tests.e2e.cli import SHIPYARD, run
from tests.e2e.conftest import add_events
from tests.e2e.lake_checks import published, staged_files, versions


def ids(lake: Path, layer: str) -> list[int]:
    return sorted(DeltaTable(str(lake / layer / "events")).to_pyarrow_table(columns=["id"])
                  .column("id").to_pylist())


@pytest.mark.parametrize("point", ["staging", "after-staging", "after-raw", "after-clean",
                                   "after-landing", "before-snapshot"])
def test_a_killed_ingest_leaves_the_last_version_and_the_next_one_finishes(
    events_project: Path, point: str
) -> None:
    run("ingest", cwd=events_project)
    lake = events_project / "lake"
    add_events(events_project, 100_000, 50_000, seed=2)

    killed = run("ingest", cwd=events_project, env={"SHIPYARD_KILL_AT": point}, check=None)
    assert killed.returncode == -9  # really SIGKILLed, no cleanup ran

    # Readers still see the first ingest's snapshot, whatever was written after it.
    assert published(lake) == (1, {"raw.events": 0, "clean.events": 0, "curated.per_kind": 0})
    # Every table reads at a complete version, and the previous version is intact.
    for layer in ("raw", "clean"):
        assert len(ids(lake, layer)) in (100_000, 150_000)
        previous = DeltaTable(str(lake / layer / "events"), version=0)
        assert previous.to_pyarrow_table().num_rows == 100_000

    done = run("ingest", cwd=events_project)
    assert ids(lake, "raw") == list(range(150_000))
    assert ids(lake, "clean") == list(range(150_000))
    if point != "staging":
        assert "landed" in done.stdout or "no new rows" in done.stdout
    totals = DeltaTable(str(lake / "curated" / "per_kind")).to_pyarrow_table()
    assert sum(totals.column("n").to_pylist()) == 150_000
    assert published(lake)[1] == versions(lake)
    assert staged_files(events_project) == []


def test_a_second_ingest_of_a_busy_table_fails_clearly_or_waits(events_project: Path) -> None:
    locks = FolderLocks(events_project / ".shipyard" / "dev" / "locks")
    with table_locks(locks, ["events"]):
        busy = run("ingest", cwd=events_project, check=1)
        assert f"table 'events' is being ingested by {socket.gethostname()} pid" in busy.stderr
        assert "--wait" in busy.stderr
        err = events_project / "waiting.err"
        with err.open("w") as stderr:
            waiting = subprocess.Popen([*SHIPYARD, "ingest", "--wait", "600"],
                                       cwd=events_project, stdout=subprocess.DEVNULL,
                                       stderr=stderr, text=True)
        says = f"Waiting up to 600 s for table 'events', held by {socket.gethostname()} pid"
        deadline = time.monotonic() + 300
        while says not in err.read_text() and waiting.poll() is None:
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.1)
        assert waiting.poll() is None, err.read_text()  # still waiting for the lock
    assert waiting.wait(timeout=600) == 0, err.read_text()
    assert ids(events_project / "lake", "raw") == list(range(100_000))


def test_two_ingests_started_together_land_each_row_once(events_project: Path) -> None:
    procs = [subprocess.Popen([*SHIPYARD, "ingest", "--wait", "600"], cwd=events_project,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for proc in procs:
        proc.communicate(timeout=900)
        assert proc.returncode == 0
    assert ids(events_project / "lake", "raw") == list(range(100_000))
    assert DeltaTable(str(events_project / "lake" / "raw" / "events")).version() == 0
