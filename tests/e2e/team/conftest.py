"""Fixtures of the team-scale tests: the team stack (every store a server) and a space of each
test's own in it.

``team_stack`` is session-scoped: each pytest-xdist worker that runs a team test starts one
stack in its own temporary folder, every server on a free port (the kernel's choice of port 0),
so files that ``--dist loadfile`` sends to different workers never share or fight over ports,
and a worker that runs no team test starts nothing. Starting one takes ~15 s on 2 cores.

``team_space`` gives a test its own S3 prefix, Azure prefix and PostgreSQL database, and puts
the stack's environment into ``os.environ`` for the test's duration: deltalake, obstore, MLflow
and Shipyard itself then reach the servers as a pod would, from the environment alone, and
subprocesses inherit it.

A server that does not start fails the tests that need it under CI=true (naming the server and
quoting its log), and skips them elsewhere with the reason (`make team-deps` installs Azurite).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from teamstack.team import (
    AZURITE_ACCOUNT,
    BUCKET,
    CONTAINER,
    StackError,
    TeamStack,
    create_database,
    drop_databases,
    pg_url,
)


@pytest.fixture(scope="session")
def team_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamStack]:
    """The servers, started once per xdist worker that needs them, stopped at the session's end."""
    stack = TeamStack(tmp_path_factory.mktemp("team-stack"))
    failed: StackError | None = None
    try:
        stack.start()
    except StackError as error:
        failed = error  # reported below, outside the handler: no chained traceback in the report
    if failed is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the team stack must start under CI: {failed}", pytrace=False)
        pytest.skip(f"team stack unavailable: {failed.server}: {failed.reason}"
                    + (f" (log: {failed.log})" if failed.log else ""))
    try:
        yield stack
    finally:
        stack.stop()


@dataclass
class TeamSpace:
    """One test's own corner of the stack: nothing it writes is seen by another test.

    The URL forms are the ones deltalake and obstore accept against the emulators with the
    environment alone (verified by test_stack.py).
    """

    name: str                  # unique: use it for MLflow experiment and model names too
    s3_url: str                # s3://shipyard/<name>
    az_url: str                # az://shipyard/<name>
    abfss_url: str             # abfss://shipyard@devstoreaccount1.dfs.core.windows.net/<name>
    db_url: str                # a fresh PostgreSQL database, dropped after the test
    erp_url: str               # another, for the example's ERP source (erp.py init --url)
    env: dict[str, str] = field(default_factory=dict)  # set in os.environ during the test


def _delete_prefix(url: str) -> None:
    """Remove what a test left under its prefix (moto keeps objects in memory)."""
    import obstore
    from obstore.store import from_url

    store = from_url(url)
    paths = [meta["path"] for meta in obstore.list(store).collect()]
    if paths:
        obstore.delete(store, paths)


@pytest.fixture
def team_space(team_stack: TeamStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[TeamSpace]:
    """A fresh S3 prefix, Azure prefix and database, with the stack's environment in os.environ.

    The recommender example's ``team`` environment reads ``SHIPYARD_DB``, ``SHIPYARD_LAKE``,
    ``SHIPYARD_STATE`` and ``ERP_URL``: they point into this space (lake and state on S3; a
    test on Azure sets the two to ``az_url``/``abfss_url``), so every test has its own.
    """
    name = f"t{uuid.uuid4().hex[:12]}"
    database = create_database("shipyard_test_team", team_stack.pg_admin_url)
    erp = create_database("shipyard_test_erp", team_stack.pg_admin_url)
    space = TeamSpace(
        name=name,
        s3_url=f"s3://{BUCKET}/{name}",
        az_url=f"az://{CONTAINER}/{name}",
        abfss_url=f"abfss://{CONTAINER}@{AZURITE_ACCOUNT}.dfs.core.windows.net/{name}",
        db_url=pg_url(database, team_stack.pg_admin_url),
        erp_url=pg_url(erp, team_stack.pg_admin_url),
    )
    space.env = {
        **team_stack.env,
        "SHIPYARD_DB": space.db_url,
        "SHIPYARD_LAKE": f"{space.s3_url}/lake",
        "SHIPYARD_STATE": f"{space.s3_url}/state",
        "ERP_URL": space.erp_url,
    }
    for key, value in space.env.items():
        monkeypatch.setenv(key, value)
    try:
        yield space
    finally:
        drop_databases([database, erp], team_stack.pg_admin_url)
        for url in (space.s3_url, space.az_url):
            _delete_prefix(url)


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    """A fresh, empty working directory, as a pod's would be."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    return folder
