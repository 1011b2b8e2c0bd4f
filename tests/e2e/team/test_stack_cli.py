"""`teamstack/team.py up DIR` / `down DIR`, as `make team-up` and users run them: the servers
outlive the command that started them, team.env reaches them, `down` from another process
leaves nothing running and drops the databases.

Its own stack (not the session's `team_stack`), MLflow's artifacts in a folder of the stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from teamstack.team import REPO, group_members

from tests.conftest import pg_database_exists

pytestmark = pytest.mark.slow

TEAM = [sys.executable, str(REPO / "teamstack" / "team.py")]


def _team(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TEAM, *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.fixture
def stack_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "team"
    up = _team("up", str(folder), "--mlflow-artifacts", "local")
    if up.returncode != 0:
        _team("down", str(folder))
        if os.environ.get("CI") == "true":
            pytest.fail(f"`team.py up` failed under CI:\n{up.stdout}{up.stderr}", pytrace=False)
        pytest.skip(f"team stack unavailable: {up.stdout.strip()}")
    try:
        yield folder
    finally:
        _team("down", str(folder))


def _read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_up_writes_team_env_and_down_stops_everything(stack_dir: Path) -> None:
    env = _read_env(stack_dir / "team.env")
    state = json.loads((stack_dir / "stack.json").read_text())
    pids = [server["pid"] for server in state["servers"].values()]
    assert sorted(state["servers"]) == sorted(["s3", "azure", "mlflow", "dask-scheduler",
                                               "dask-worker-1", "dask-worker-2"])

    # the command has exited; the servers it started answer at the addresses team.env gives
    assert httpx.get(f"{env['MLFLOW_TRACKING_URI']}/health", timeout=5).status_code == 200
    assert httpx.get(f"{env['AWS_ENDPOINT_URL']}/moto-api/", timeout=5).status_code == 200
    assert httpx.get(env["AZURITE_BLOB_STORAGE_URL"], timeout=5).status_code in (400, 403)
    assert pg_database_exists(env["SHIPYARD_DB"].rsplit("/", 1)[1])
    assert pg_database_exists(env["ERP_URL"].rsplit("/", 1)[1])
    assert env["SHIPYARD_LAKE"].startswith("s3://") and env["SHIPYARD_STATE"].startswith("s3://")
    assert (stack_dir / "logs" / "mlflow.log").exists()

    refused = _team("up", str(stack_dir))
    assert refused.returncode == 2 and "down" in refused.stdout  # one stack per folder

    down = _team("down", str(stack_dir))
    assert down.returncode == 0, down.stderr
    assert [pid for pid in pids if group_members(pid)] == []
    assert not (stack_dir / "team.env").exists()
    assert not any(pg_database_exists(name) for name in state["databases"])
    assert _team("down", str(stack_dir)).stdout.startswith("no team stack")
