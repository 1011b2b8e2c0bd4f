"""Pipeline runs triggered over REST on two real ``shipyard serve`` processes of one project.

An operator's view: two servers (two replicas) share the metadata database; triggers sent to
both at once start exactly one run, the others are told which run is going; each run is
followed by its id to its end, a bad param ends as a failed run with its error, and neither
server is left with a ``<defunct>`` child.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from shipyard.pipeline import RunStore
from shipyard.project import Project
from tests.e2e.examples import ExampleProjects
from tests.e2e.server import AUTH, SERVER_PIDS, serving
from tests.unit.serving.test_runs import (
    assert_children_reaped,
    children_of,
    final_state,
)


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory, example_projects: ExampleProjects) -> Path:
    """Titanic trained once, version 1 in production; a triggered run reuses its steps."""
    return example_projects.copy("titanic-trained", tmp_path_factory.mktemp("runs") / "titanic")


def server_pid(base: str) -> int:
    """The pid of the ``shipyard serve`` of this test listening at ``base``."""
    return SERVER_PIDS[base]


@pytest.fixture(scope="module")
def servers(titanic: Path) -> Iterator[list[str]]:
    with ExitStack() as stack:
        yield [stack.enter_context(serving(titanic)) for _ in range(2)]


def test_triggers_on_two_servers_start_one_run_followed_by_its_id(servers: list[str]) -> None:
    pids = [server_pid(base) for base in servers]
    before = [children_of(pid) for pid in pids]
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(6)

    def trigger(base: str) -> None:
        barrier.wait()
        answers.append(httpx.post(f"{base}/v1/pipelines/train/runs", headers=AUTH,
                                  timeout=60))

    threads = [threading.Thread(target=trigger, args=(base,)) for base in servers * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [202, 409, 409, 409, 409, 409], [a.text for a in answers]
    accepted = next(a for a in answers if a.status_code == 202)
    run_id = accepted.json()["run_id"]
    url = f"/v1/pipelines/train/runs/{run_id}"
    assert accepted.headers["location"] == url == accepted.json()["url"]
    assert {a.json()["run_id"] for a in answers if a.status_code == 409} == {run_id}

    for base in servers:  # either server follows the run, whichever started it
        state = final_state(lambda path, b=base: httpx.get(b + path, headers=AUTH), url)
        assert state["status"] == "succeeded", state
        assert state["started_at"] and state["finished_at"]
    for pid, children in zip(pids, before, strict=True):
        assert_children_reaped(children, pid)


def test_a_bad_param_ends_as_a_failed_run_with_its_error(servers: list[str],
                                                         titanic: Path) -> None:
    base = servers[1]
    pid = server_pid(base)
    before = children_of(pid)

    answer = httpx.post(f"{base}/v1/pipelines/train/runs", headers=AUTH, timeout=60,
                        json={"params": {"seeed": 7}})
    assert answer.status_code == 202, answer.text
    state = final_state(lambda path: httpx.get(base + path, headers=AUTH), answer.json()["url"])
    assert state["status"] == "failed"
    assert "params.seeed: not declared in pipelines.train.params" in state["error"]
    record = RunStore(Project.open(titanic).metadata_engine).get(answer.json()["run_id"])
    assert record.status == "failed"  # in the run records, for 'shipyard runs' too
    assert_children_reaped(before, pid)
