"""The lake at team scale: lake and state in an object store, metadata in PostgreSQL, and the
CLI run from working directories that hold nothing but ``shipyard.yaml``, as two pods would.

A batch quarantined by an ingest in one directory is accepted from another; two ingests started
together from two directories land each new row once; and neither writes a file where it runs.
The recommender example's ERP lives in a PostgreSQL database of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable
from teamstack.team import TeamStack, create_database, drop_databases, pg_url

from shipyard.lake.locks import table_locks
from shipyard.project import Project
from shipyard.state import open_state
from tests.e2e.cli import SHIPYARD, run
from tests.e2e.examples import ExampleProjects
from tests.e2e.team.conftest import TeamSpace

pytestmark = pytest.mark.slow

ENV = "team"
KEYS = {"orders": "order_id", "order_lines": "order_line_id"}


@pytest.fixture
def erp(team_stack: TeamStack, team_space: TeamSpace, tmp_path: Path,
        example_projects: ExampleProjects, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example's erp.py in a folder of its own, filled (small) into a fresh PostgreSQL
    database that ERP_URL names to every shipyard process."""
    database = create_database("shipyard_test_erp", team_stack.pg_admin_url)
    url = pg_url(database, team_stack.pg_admin_url)
    monkeypatch.setenv("ERP_URL", url)
    folder = tmp_path / "erp"
    folder.mkdir()
    shutil.copy(example_projects.template("recommender") / "erp.py", folder)
    erp_py(folder, "init", "--customers", "300", "--months", "3")
    try:
        yield folder
    finally:
        drop_databases([database], team_stack.pg_admin_url)


def erp_py(folder: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "erp.py", *args, "--url", os.environ["ERP_URL"]],
                          cwd=folder, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def workdirs(tmp_path: Path, example_projects: ExampleProjects, base: str,
             monkeypatch: pytest.MonkeyPatch, names: tuple[str, ...] = ("a", "b")) -> list[Path]:
    """Fresh working directories holding only the example's shipyard.yaml, whose ``team``
    environment gets its lake and state under ``base`` (the rest from team_space)."""
    monkeypatch.setenv("SHIPYARD_LAKE", f"{base}/lake")
    monkeypatch.setenv("SHIPYARD_STATE", f"{base}/state")
    folders = []
    for name in names:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(example_projects.template("recommender") / "shipyard.yaml", folder)
        folders.append(folder)
    return folders


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def shipyard(*args: str, cwd: Path, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    return run(*args, "--env", ENV, cwd=cwd, check=check)


def landed_once(lake: str, layer: str, table: str) -> tuple[int, int]:
    """Rows of ``layer.table`` and distinct primary keys among them, read with deltalake from
    the environment's credentials."""
    data = DeltaTable(f"{lake}/{layer}/{table}").to_pyarrow_table(columns=[KEYS[table]])
    return data.num_rows, len(pc.unique(data.column(KEYS[table])))


@pytest.mark.parametrize("store", ["s3", "az"])
def test_a_batch_quarantined_in_one_directory_is_accepted_from_another(
        team_space: TeamSpace, erp: Path, tmp_path: Path, example_projects: ExampleProjects,
        store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    base = team_space.s3_url if store == "s3" else team_space.az_url
    a, b = workdirs(tmp_path, example_projects, base, monkeypatch)

    shipyard("ingest", cwd=a)
    erp_py(erp, "next-month", "--drift")
    rejected = shipyard("ingest", cwd=a, check=3)
    text = " ".join(rejected.stdout.split())
    assert "order_lines" in text and "rejected" in text
    assert f"{base}/state/quarantine/" in text and f"{base}/state/reports/" in text

    shown = " ".join(shipyard("quarantine", "show", "latest", cwd=b).stdout.split())
    assert "order_lines" in shown and "ks" in shown  # the report, read from the store
    done = shipyard("quarantine", "accept", "latest", "--reason", "bulk promotion month", cwd=b)
    assert "Accepted" in done.stdout and "lake snapshot" in done.stdout
    assert shipyard("quarantine", "ls", cwd=a).stdout.startswith("Quarantine is empty")

    lake = f"{base}/lake"
    for table in KEYS:
        rows, keys = landed_once(lake, "clean", table)
        assert rows == keys and rows > 0, table
    history = shipyard("lake", "history", "order_lines", cwd=b).stdout
    assert f"{base}/state/reports" in " ".join(history.split())
    for folder in (a, b):
        assert files_under(folder) == ["shipyard.yaml"], folder


def test_two_ingests_started_together_from_two_directories_land_each_row_once(
        team_space: TeamSpace, erp: Path, tmp_path: Path,
        example_projects: ExampleProjects, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = workdirs(tmp_path, example_projects, team_space.s3_url, monkeypatch)
    shipyard("ingest", cwd=a)
    erp_py(erp, "next-month")

    # The test holds the first table's lock (PostgreSQL advisory, as the ingests take it) until
    # both ingests wait for it: released, they race for the tables, from the same watermark.
    project = Project.open(a, ENV)
    errs = [tmp_path / f"ingest-{folder.name}.err" for folder in (a, b)]
    environ = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    with table_locks(project.locks, ["customers"]):
        procs = []
        for folder, err in zip((a, b), errs, strict=True):
            with err.open("w") as stderr:
                procs.append(subprocess.Popen(
                    [*SHIPYARD, "ingest", "--wait", "600", "--env", ENV], cwd=folder, env=environ,
                    stdout=subprocess.DEVNULL, stderr=stderr, text=True))
        deadline = time.monotonic() + 300
        while not all("Waiting up to 600 s for table 'customers'" in err.read_text()
                      for err in errs):
            assert all(proc.poll() is None for proc in procs), [e.read_text() for e in errs]
            assert time.monotonic() < deadline, [e.read_text() for e in errs]
            time.sleep(0.1)
    for proc, err in zip(procs, errs, strict=True):
        assert proc.wait(timeout=900) == 0, err.read_text()

    lake = f"{team_space.s3_url}/lake"
    for layer in ("raw", "clean"):
        for table in KEYS:
            rows, keys = landed_once(lake, layer, table)
            assert rows == keys and rows > 0, f"{layer}.{table}: {rows} rows, {keys} keys"
    # the next month landed once: one ingest landed it, the other found nothing new
    versions = {DeltaTable(f"{lake}/raw/{table}").version() for table in KEYS}
    assert versions == {1}
    for folder in (a, b):
        assert files_under(folder) == ["shipyard.yaml"], folder


def test_a_landing_killed_in_one_directory_is_rolled_forward_from_another(
        team_space: TeamSpace, erp: Path, tmp_path: Path,
        example_projects: ExampleProjects, monkeypatch: pytest.MonkeyPatch) -> None:
    """The staged file of a batch being landed is in the state store, so the next ingest, from
    anywhere, finishes the landing of a process SIGKILLed between RAW and CLEAN."""
    a, b = workdirs(tmp_path, example_projects, team_space.s3_url, monkeypatch)
    shipyard("ingest", cwd=a)
    erp_py(erp, "next-month")
    killed = run("ingest", "--env", ENV, cwd=a, env={"SHIPYARD_KILL_AT": "after-raw"},
                 check=None)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    state = open_state(f"{team_space.s3_url}/state")
    assert state.list("staging") != []  # the batch being landed, for whoever comes next

    shipyard("ingest", cwd=b)
    assert state.list("staging") == []
    lake = f"{team_space.s3_url}/lake"
    for layer in ("raw", "clean"):
        for table in KEYS:
            rows, keys = landed_once(lake, layer, table)
            assert rows == keys and rows > 0, f"{layer}.{table}: {rows} rows, {keys} keys"
        assert {DeltaTable(f"{lake}/{layer}/{table}").version() for table in KEYS} == {1}
    for folder in (a, b):
        assert files_under(folder) == ["shipyard.yaml"], folder
