"""Pipeline runs over REST, in-process: one at a time, followed by id, failures kept, reaped.

The routes run in a bare FastAPI app over the demo pipeline project; each trigger starts a
real ``shipyard run`` child of this test process, so the zombie checks look at our own
children in /proc.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shipyard.errors import PipelineError
from shipyard.pipeline import RunStore, run_with_hooks
from shipyard.project import Project
from shipyard.serving.handlers import HANDLERS
from shipyard.serving.pipeline_runs.claims import RunClaims
from shipyard.serving.pipeline_runs.routes import pipeline_runs_router
from shipyard.serving.pipeline_runs.supervisor import PipelineRuns
from tests.unit.pipeline.test_project import demo_project

RUNS = "/v1/pipelines/train/runs"
BOUND_S = 300  # generous: a run's process imports MLflow and scikit-learn on a busy machine


def children_of(pid: int) -> set[int]:
    """Every child process of ``pid``, running or defunct (a zombie is still listed)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def defunct(pids: set[int]) -> set[int]:
    zombies = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":
            zombies.add(pid)
    return zombies


def wait_until(condition: Callable[[], Any], what: str, bound_s: float = BOUND_S) -> Any:
    """Poll ``condition`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + bound_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {bound_s} s: {what}")
        time.sleep(0.2)


def final_state(get: Callable[[str], httpx.Response], url: str) -> dict[str, Any]:
    """Poll ``GET url`` until the run succeeded or failed; its last answer."""
    def done() -> dict[str, Any] | None:
        answer = get(url)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] in ("queued", "running", "registering", "succeeded", "failed"), body
        return body if body["status"] in ("succeeded", "failed") else None
    return wait_until(done, f"run at {url} to end")


def assert_children_reaped(before: set[int], server_pid: int) -> None:
    """Every child the server started since ``before`` is gone, not left ``<defunct>``."""
    def reaped() -> bool:
        return not children_of(server_pid) - before
    try:
        wait_until(reaped, "the run processes to be reaped")
    except AssertionError:
        left = children_of(server_pid) - before
        raise AssertionError(f"children not reaped: {sorted(left)}, defunct: "
                             f"{sorted(defunct(left))}") from None


def client_for(project: Project, runs: PipelineRuns | None = None) -> TestClient:
    app = FastAPI(exception_handlers=HANDLERS)  # as create_app answers library errors
    app.include_router(pipeline_runs_router(project, [], [], runs))
    return TestClient(app)


@pytest.fixture
def demo(tmp_path: Path) -> Project:
    return demo_project(tmp_path / "demo")


@pytest.fixture
def client(demo: Project) -> Iterator[TestClient]:
    with client_for(demo) as client:
        yield client


def test_one_run_at_a_time_its_id_and_state_and_no_zombie(demo: Project,
                                                           client: TestClient) -> None:
    before = children_of(os.getpid())
    first = client.post(RUNS)
    assert first.status_code == 202, first.text
    run_id = first.json()["run_id"]
    url = f"{RUNS}/{run_id}"
    assert first.json() == {"run_id": run_id, "pipeline": "train", "status": "queued",
                            "url": url}
    assert first.headers["location"] == url

    second = client.post(RUNS, json={"params": {"seed": 3}})
    assert second.status_code == 409, second.text
    assert second.json()["run_id"] == run_id and second.json()["url"] == url
    assert run_id in second.json()["detail"]

    state = final_state(client.get, url)
    assert state["status"] == "succeeded", state
    assert state["started_at"] and state["finished_at"] and state["error"] is None
    assert {s["status"] for s in state["steps"]} == {"succeeded"}
    assert RunStore(demo.metadata_engine).get(run_id).status == "succeeded"

    again = wait_until(lambda: (r := client.post(RUNS)).status_code == 202 and r,
                       "a trigger after the run ended")
    final_state(client.get, again.json()["url"])
    assert_children_reaped(before, os.getpid())


def test_a_run_that_fails_before_recording_itself_ends_failed_with_its_error(
        demo: Project, client: TestClient) -> None:
    before = children_of(os.getpid())
    answer = client.post(RUNS, json={"params": {"seeed": 3}})
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]
    state = final_state(client.get, answer.json()["url"])
    assert state["status"] == "failed"
    assert "params.seeed: not declared in pipelines.train.params" in state["error"]
    assert "exit code 1" in state["error"]
    record = RunStore(demo.metadata_engine).get(run_id)  # visible to 'shipyard runs' too
    assert record.status == "failed" and record.params == {"seeed": "3"}
    assert_children_reaped(before, os.getpid())


def test_a_killed_run_is_recorded_as_interrupted(demo: Project, client: TestClient,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo's checkpoint step SIGKILLs its own process once when this marker is missing.
    monkeypatch.setenv("SHIPYARD_TEST_KILL_MARKER", str(tmp_path / "killed"))
    before = children_of(os.getpid())
    answer = client.post(RUNS)
    assert answer.status_code == 202, answer.text
    state = final_state(client.get, answer.json()["url"])
    assert (tmp_path / "killed").exists()
    assert state["status"] == "failed" and state["error"].startswith("interrupted: process")
    assert_children_reaped(before, os.getpid())

    def steps() -> dict[str, str]:  # closed right after the run's status is set
        body = client.get(answer.json()["url"]).json()
        return {s["step"]: s["status"] for s in body["steps"]}
    wait_until(lambda: steps()["evaluate"] == "skipped", "the killed run's steps closed")
    assert steps()["checkpoint"] == "failed"
    again = wait_until(lambda: (r := client.post(RUNS)).status_code == 202 and r,
                       "the pipeline free again")
    assert final_state(client.get, again.json()["url"])["status"] == "succeeded"


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def _plant_claim(project: Project, run_id: str, *, host: str, server_pid: int,
                 heartbeat_age_s: float) -> None:
    """A claim row as a server that has gone away would have left it."""
    RunClaims(project.metadata_engine)  # creates the table
    beat = datetime.now(UTC) - timedelta(seconds=heartbeat_age_s)
    with project.metadata_engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO shipyard_pipeline_claims (pipeline, run_id, params, host, server_pid, "
            "claimed_at, heartbeat_at) VALUES ('train', :run, '{}', :host, :pid, :at, :at)"),
            {"run": run_id, "host": host, "pid": server_pid, "at": beat})


def test_a_claim_left_by_a_dead_server_does_not_block(demo: Project,
                                                      client: TestClient) -> None:
    _plant_claim(demo, "train-abandoned", host=socket.gethostname(), server_pid=_dead_pid(),
                 heartbeat_age_s=0)
    assert client.get(f"{RUNS}/train-abandoned").json()["status"] == "failed"
    _plant_claim(demo, "train-orphan", host=socket.gethostname(), server_pid=_dead_pid(),
                 heartbeat_age_s=0)
    answer = client.post(RUNS)
    assert answer.status_code == 202, answer.text
    orphan = client.get(f"{RUNS}/train-orphan").json()
    assert orphan["status"] == "failed" and orphan["error"].startswith("abandoned: ")
    assert RunStore(demo.metadata_engine).get("train-orphan").status == "failed"
    final_state(client.get, answer.json()["url"])


def test_a_claim_from_another_host_holds_while_its_heartbeat_is_fresh(
        demo: Project) -> None:
    runs = PipelineRuns(demo, stale_after_s=3600)
    with client_for(demo, runs) as client:
        _plant_claim(demo, "train-elsewhere", host="another-host", server_pid=1,
                     heartbeat_age_s=60)
        busy = client.post(RUNS)
        assert busy.status_code == 409 and busy.json()["run_id"] == "train-elsewhere"
        assert client.get(f"{RUNS}/train-elsewhere").json()["status"] == "queued"
    runs = PipelineRuns(demo, stale_after_s=30)  # the same claim, now older than allowed
    with client_for(demo, runs) as client:
        answer = client.post(RUNS)
        assert answer.status_code == 202, answer.text
        assert client.get(f"{RUNS}/train-elsewhere").json()["status"] == "failed"
        final_state(client.get, answer.json()["url"])


def test_two_servers_racing_on_postgres_start_one_run(tmp_path: Path, pg_url: str) -> None:
    project = demo_project(tmp_path / "pg", metadata_db=pg_url)
    before = children_of(os.getpid())
    with client_for(project) as one, client_for(project) as two:
        barrier = threading.Barrier(8)
        answers: list[httpx.Response] = []

        def trigger(client: TestClient) -> None:
            barrier.wait()
            answers.append(client.post(RUNS))

        threads = [threading.Thread(target=trigger, args=(c,)) for c in [one, two] * 4]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        accepted = [a for a in answers if a.status_code == 202]
        assert len(accepted) == 1, [(a.status_code, a.text) for a in answers]
        run_id = accepted[0].json()["run_id"]
        assert {a.json()["run_id"] for a in answers if a.status_code == 409} == {run_id}
        assert sorted(a.status_code for a in answers) == [202] + [409] * 7
        assert final_state(two.get, accepted[0].json()["url"])["status"] == "succeeded"
    assert_children_reaped(before, os.getpid())
    project.metadata_engine.dispose()


@pytest.mark.parametrize(("body", "message"), [
    ({"params": {"a=b": 1}}, "params: a name must be letters"),
    ({"params": {"note": "\ud800"}}, "params.note: not valid text"),
    ({"params": {"note": "a\x00b"}}, "no NUL"),
    ('{"params": {"seed": 1e309}}', "params.seed: not a finite number"),
    ('{"params": {"scale": NaN}}', "params.scale: not a finite number"),
    ('{"params": {"scale": -Infinity}}', "params.scale: not a finite number"),
])
def test_params_the_command_line_cannot_carry_are_refused(client: TestClient, body: Any,
                                                          message: str) -> None:
    # Sent as escaped JSON: a lone surrogate cannot be encoded as UTF-8 by the client.
    answer = client.post(RUNS, content=body if isinstance(body, str) else json.dumps(body),
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and message in answer.json()["detail"], answer.text


def test_bad_values_unknown_pipelines_and_runs_are_refused(client: TestClient) -> None:
    for body in ({"params": {"seed": [1]}}, {"params": {"seed": None}}, {"other": 1},
                 {"params": "seed=3"}):
        assert client.post(RUNS, json=body).status_code == 422, body
    unknown = client.post("/v1/pipelines/nope/runs")
    assert unknown.status_code == 404 and "declared: " in unknown.json()["detail"]
    assert client.get(f"{RUNS}/train-20260101-0000-abcd").status_code == 404
    assert client.get("/v1/pipelines/nope/runs/x").status_code == 404


def test_openapi_documents_every_status(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    post = paths["/v1/pipelines/{name}/runs"]["post"]["responses"]
    assert set(post) == {"202", "400", "401", "403", "404", "409", "413", "422", "429", "503",
                         "504"}
    assert post["409"]["content"]["application/json"]["schema"]["$ref"].endswith("RunBusy")
    get = paths["/v1/pipelines/{name}/runs/{run_id}"]["get"]["responses"]
    assert set(get) == {"200", "401", "404", "422", "429", "503", "504"}


def _plant_cli_run(project: Project, run_id: str, pid: int) -> None:
    """A run record as ``shipyard run`` on this host writes it when it starts."""
    RunStore(project.metadata_engine).start(
        id=run_id, pipeline="train", started_at=datetime.now(UTC), params={},
        executor="local", env="dev", data_versions={}, smoke=False, no_cache=False,
        host=socket.gethostname(), pid=pid)


def test_a_run_started_from_the_command_line_blocks_while_its_process_lives(
        demo: Project, client: TestClient) -> None:
    _plant_cli_run(demo, "train-from-cli", os.getpid())  # a live process: this one
    busy = client.post(RUNS)
    assert busy.status_code == 409 and busy.json()["run_id"] == "train-from-cli"
    assert client.get(f"{RUNS}/train-from-cli").json()["status"] == "running"
    RunStore(demo.metadata_engine).finish("train-from-cli", "succeeded", datetime.now(UTC))

    _plant_cli_run(demo, "train-killed-cli", _dead_pid())
    answer = client.post(RUNS)
    assert answer.status_code == 202, answer.text
    killed = RunStore(demo.metadata_engine).get("train-killed-cli")
    assert killed.status == "failed" and killed.error.startswith("interrupted: process")
    final_state(client.get, answer.json()["url"])


def test_a_promised_run_id_is_never_silently_replaced(demo: Project) -> None:
    done = run_with_hooks(demo, "train", run_id="train-promised")
    assert done.run_id == "train-promised"
    with pytest.raises(PipelineError, match="run id 'train-promised' is taken"):
        run_with_hooks(demo, "train", run_id="train-promised")
    assert RunStore(demo.metadata_engine).get("train-promised").status == "succeeded"
