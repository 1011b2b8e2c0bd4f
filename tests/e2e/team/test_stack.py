"""The team stack works as Shipyard will use it: every store reached from the environment alone.

Each test runs in its own space of the session's stack (conftest.py): S3 on moto, Azure Blob on
Azurite, MLflow's server on PostgreSQL with artifacts proxied to S3, a Dask scheduler with two
worker processes.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import deltalake
import obstore
import pyarrow as pa
import pytest
from obstore.store import from_url
from teamstack import team
from teamstack.team import BUCKET, HOST, TeamStack, listening_addresses, stop_groups

from tests.e2e.team.conftest import TeamSpace
from tests.e2e.team.workers import append_rows

pytestmark = pytest.mark.slow

WRITERS, APPENDS = 4, 8


def test_every_server_listens_on_loopback_only(team_stack: TeamStack) -> None:
    for server in team_stack.servers.values():
        addresses = listening_addresses(server.pgid)
        assert addresses, f"{server.name} listens nowhere"
        assert {host for host, _ in addresses} == {HOST}, f"{server.name}: {addresses}"


def test_a_server_whose_port_is_taken_meanwhile_starts_on_another(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Free ports are chosen before the server binds them: another stack (the other xdist
    worker's) may take one in between. The server is started again on a new port."""
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        taken_port = taken.getsockname()[1]
        first = iter([taken_port])
        choose = team.free_port
        monkeypatch.setattr(team, "free_port", lambda: next(first, None) or choose())
        stack = TeamStack(tmp_path)
        stack.logs.mkdir(parents=True)
        server = stack._s3_server()
        try:
            stack._up([server])
        finally:
            if server.proc is not None:
                stop_groups([server.pgid], [server.proc])
    assert server.attempts == 2 and server.port != taken_port
    assert "address already in use" in server.log.read_text().lower()


@pytest.mark.parametrize("form", ["s3", "az", "abfss"])
def test_delta_table_written_and_read_back_from_the_environment_alone(
        team_space: TeamSpace, form: str) -> None:
    base = {"s3": team_space.s3_url, "az": team_space.az_url, "abfss": team_space.abfss_url}[form]
    url = f"{base}/lake/orders"
    deltalake.write_deltalake(url, pa.table({"id": [1, 2], "qty": [3, 4]}))
    deltalake.write_deltalake(url, pa.table({"id": [3], "qty": [5]}), mode="append")

    table = deltalake.DeltaTable(url)
    assert table.version() == 1
    assert sorted(table.to_pyarrow_table()["id"].to_pylist()) == [1, 2, 3]
    assert deltalake.DeltaTable(url, version=0).to_pyarrow_table().num_rows == 2  # time travel


@pytest.mark.parametrize("form", ["s3", "az"])
def test_concurrent_appends_from_processes_lose_nothing(team_space: TeamSpace, form: str) -> None:
    url = f"{team_space.s3_url if form == 's3' else team_space.az_url}/lake/race"
    deltalake.write_deltalake(url, pa.table({"writer": pa.array([], pa.int64()),
                                             "seq": pa.array([], pa.int64())}))
    spawn = multiprocessing.get_context("spawn")  # fork after deltalake's runtime started hangs
    barrier = spawn.Barrier(WRITERS)
    writers = [spawn.Process(target=append_rows, args=(url, w, APPENDS, barrier))
               for w in range(WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=300)
    assert [p.exitcode for p in writers] == [0] * WRITERS

    table = deltalake.DeltaTable(url)
    rows = table.to_pyarrow_table().to_pylist()
    assert sorted((r["writer"], r["seq"]) for r in rows) == [
        (w, s) for w in range(WRITERS) for s in range(APPENDS)]
    assert table.version() == WRITERS * APPENDS  # one commit each, after the creating one


@pytest.mark.parametrize("form", ["s3", "az", "abfss"])
def test_object_store_put_get_list_from_the_environment_alone(team_space: TeamSpace,
                                                             form: str) -> None:
    base = {"s3": team_space.s3_url, "az": team_space.az_url, "abfss": team_space.abfss_url}[form]
    store = from_url(f"{base}/cache")
    obstore.put(store, "steps/abc/model.bin", b"\x00weights")
    obstore.put(store, "steps/abd/model.bin", b"other")

    assert bytes(obstore.get(store, "steps/abc/model.bin").bytes()) == b"\x00weights"
    assert sorted(m["path"] for m in obstore.list(store, prefix="steps").collect()) == [
        "steps/abc/model.bin", "steps/abd/model.bin"]
    obstore.delete(store, "steps/abd/model.bin")
    assert [m["path"] for m in obstore.list(store).collect()] == ["steps/abc/model.bin"]


LOG_RUN = """
import mlflow
mlflow.set_experiment({experiment!r})
with mlflow.start_run() as run:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_metric("auc", 0.91)
    mlflow.log_text("weights v1", "model/notes.txt")
print("RESULT", run.info.run_id, run.info.artifact_uri)
"""

READ_RUN = """
import mlflow
run = mlflow.get_run({run_id!r})
print("RESULT", run.data.params["alpha"], run.data.metrics["auc"])
print("RESULT", mlflow.artifacts.load_text(f"runs:/{run_id}/model/notes.txt"))
"""


def _python(code: str, cwd: Path) -> list[str]:
    """Run ``code`` in a fresh interpreter in ``cwd``; its RESULT lines (MLflow prints others)."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                            capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    return [line.removeprefix("RESULT ") for line in result.stdout.splitlines()
            if line.startswith("RESULT ")]


def test_mlflow_run_and_artifact_through_the_server(team_stack: TeamStack, team_space: TeamSpace,
                                                    tmp_path: Path) -> None:
    trainer, reader = tmp_path / "trainer", tmp_path / "reader"
    trainer.mkdir()
    reader.mkdir()

    [logged] = _python(LOG_RUN.format(experiment=team_space.name), trainer)
    run_id, artifact_uri = logged.split()
    assert artifact_uri.startswith("mlflow-artifacts:/"), artifact_uri
    assert _python(READ_RUN.format(run_id=run_id), reader) == ["0.5 0.91", "weights v1"]

    # nothing on the trainer's or the reader's disk: the artifact is in the bucket, via the server
    assert list(trainer.iterdir()) == [] and list(reader.iterdir()) == []
    keys = [m["path"] for m in obstore.list(from_url(f"s3://{BUCKET}/mlflow-artifacts")).collect()]
    assert any(k.endswith(f"{run_id}/artifacts/model/notes.txt") for k in keys), keys
    # the job runner off keeps the server near 0.5 GB (the CLI process and its uvicorn worker)
    assert team_stack.servers["mlflow"].rss_mb() < 1024


def test_dask_runs_on_both_worker_processes(team_stack: TeamStack, team_space: TeamSpace) -> None:
    from distributed import Client

    with Client(team_space.env["DASK_SCHEDULER_ADDRESS"], timeout="10s") as client:
        pids = client.run(os.getpid)
        assert len(pids) == 2 and len(set(pids.values())) == 2 and os.getpid() not in pids.values()
        # a task on each worker, by name
        for address in pids:
            assert client.submit(os.getpid, workers=[address], pure=False).result(timeout=30) \
                == pids[address]
        # the workers hold the stores' environment: a step they run reaches the lake and MLflow
        for key in ("AWS_ENDPOINT_URL", "AZURITE_BLOB_STORAGE_URL", "MLFLOW_TRACKING_URI"):
            assert set(client.run(os.environ.get, key).values()) == {team_stack.env[key]}
