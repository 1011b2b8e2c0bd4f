"""``shipyard serve`` stopped by SIGTERM under load, as a container platform stops it.

What was accepted is answered, and logged: the server stops listening, lets the requests in
flight finish, flushes the prediction log and exits 0 before the grace period is over. One
request is held half-sent across the signal (its headers and half its body reach the server
before SIGTERM, the rest after the listener is closed), so there is always one in flight;
around it, client threads send predict requests on fresh and on kept-alive connections until
the server refuses them.

A refused connection, or a connection closed before the server read anything from it (one
still in the listen backlog when the listener closed, or a kept-alive one closed as idle at
the moment the client reused it), was never accepted: the client may retry it elsewhere.
Anything else (a 5xx, an answer cut short, a request answered but not logged) is a failure.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path

import httpx
import pytest
from deltalake import DeltaTable

from shipyard.monitoring.logschema import new_request_id, predictions_path
from shipyard.project import Project
from tests.e2e.cli import SHIPYARD
from tests.e2e.examples import ExampleProjects
from tests.e2e.server import AUTH, KEY, PATIENCE_S, free_port, http, wait_for

ROW = {"pclass": "1st", "sex": "female", "age": 29.0, "sibsp": 0, "parch": 0}
ROWS = 20  # per request: enough work per request that some are always in flight
GRACE_S = 60  # far beyond what draining needs here; the test checks the exit comes before it
THREADS = 6
MAX_REQUESTS = 3000  # per thread: the load is bounded even if the server never stops


@dataclass
class Outcome:
    request_id: str
    status: int | None  # None: no answer
    error: str = ""
    after_sigterm: bool = False


def _load(base: str, keep_alive: bool, outcomes: list[Outcome], stop: threading.Event,
          signalled: threading.Event) -> None:
    """Predict requests until a connection is refused (or ``stop``, or the bound)."""
    limits = httpx.Limits(max_keepalive_connections=1 if keep_alive else 0)
    body = {"rows": [ROW] * ROWS}
    with httpx.Client(timeout=PATIENCE_S, limits=limits) as client:
        for _ in range(MAX_REQUESTS):
            if stop.is_set():
                return
            rid = new_request_id()
            try:
                answer = client.post(f"{base}/v1/models/titanic/predict", json=body,
                                     headers={**AUTH, "X-Request-ID": rid})
                outcomes.append(Outcome(rid, answer.status_code, answer.text[:200]))
            except httpx.ConnectError:
                return  # refused: the listener is closed
            except httpx.TransportError as error:
                outcomes.append(Outcome(rid, None, repr(error), signalled.is_set()))


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE_S):
            return False
    except ConnectionRefusedError:
        return True


def _logged(root: Path) -> dict[str, int]:
    """Rows in the prediction log per request id."""
    project = Project.open(root, "dev")
    table = DeltaTable(predictions_path(project.lake_root, "titanic"),
                       storage_options=project.storage_options).to_pyarrow_table(
                           columns=["request_id"])
    counts: dict[str, int] = {}
    for rid in table.column("request_id").to_pylist():
        counts[rid] = counts.get(rid, 0) + 1
    return counts


@pytest.fixture
def titanic(tmp_path: Path, example_projects: ExampleProjects) -> Path:
    return example_projects.copy("titanic-trained", tmp_path / "titanic")



def _serve(root: Path, port: int) -> subprocess.Popen[str]:
    """``shipyard serve`` of ``root`` on ``port`` with the test's key and grace period."""
    return subprocess.Popen(
        [*SHIPYARD, "serve", "--port", str(port), "--shutdown-grace", str(GRACE_S)],
        cwd=root, env={**os.environ, "SHIPYARD_API_KEYS": KEY},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_ready(process: subprocess.Popen[str], base: str) -> None:
    def ready() -> bool:
        assert process.poll() is None, process.communicate()[0]
        try:
            return http.get(f"{base}/ready", headers=AUTH).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, "shipyard serve ready")

def test_sigterm_under_load_answers_and_logs_every_accepted_request(titanic: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = _serve(titanic, port)
    outcomes: list[Outcome] = []
    stop, signalled = threading.Event(), threading.Event()
    threads = [threading.Thread(target=_load, args=(base, i % 2 == 0, outcomes, stop, signalled))
               for i in range(THREADS)]
    try:
        _wait_ready(process, base)
        for thread in threads:
            thread.start()
        wait_for(lambda: sum(o.status == 200 for o in outcomes) >= 10 * THREADS,
                 "the load under way")

        # The held request: headers and half the body now, the rest once the listener is shut.
        held_id = new_request_id()
        body = json.dumps({"rows": [ROW] * ROWS}).encode()
        held = HTTPConnection("127.0.0.1", port, timeout=PATIENCE_S)
        held.putrequest("POST", "/v1/models/titanic/predict")
        for name, value in {**AUTH, "X-Request-ID": held_id, "Content-Type": "application/json",
                            "Content-Length": str(len(body))}.items():
            held.putheader(name, value)
        held.endheaders(body[:len(body) // 2])
        # A full round trip after it: the server has read the held request's headers by then.
        assert http.get(f"{base}/health").status_code == 200

        signalled.set()
        process.send_signal(signal.SIGTERM)
        wait_for(lambda: _refused(port), "the listener closed after SIGTERM")
        held.send(body[len(body) // 2:])
        answer = held.getresponse()
        held_answer = answer.status, answer.read().decode()
        wait_for(lambda: process.poll() is not None, "exit within the grace period", GRACE_S)
        output = process.communicate()[0]
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
            process.wait()
    for thread in threads:
        if thread.is_alive():
            thread.join(PATIENCE_S)

    assert process.returncode == 0, output
    assert "timeout graceful shutdown exceeded" not in output, output
    assert held_answer[0] == 200, held_answer
    assert len(json.loads(held_answer[1])["predictions"]) == ROWS
    answered = {o.request_id for o in outcomes if o.status == 200} | {held_id}
    failed = [o for o in outcomes if o.status is not None and o.status != 200]
    assert not failed, failed[:5]
    logged = _logged(titanic)
    # No answer at all is fine only for a request the server never read: after the signal,
    # and not in the log. One answered must be in the log, each of its rows.
    unanswered = [o for o in outcomes if o.status is None]
    assert all(o.after_sigterm and o.request_id not in logged for o in unanswered), unanswered
    assert {rid: logged.get(rid, 0) for rid in answered} == dict.fromkeys(answered, ROWS)


TRIALS = 4
KEPT_ALIVE = 16  # clients, each on one kept-alive connection


def _kept_alive_load(base: str, outcomes: list[Outcome], answered: list[int],
                     index: int) -> None:
    """Predicts on one kept-alive connection until one is refused (or the bound): with this
    many clients, at any moment some requests have reached the server unread."""
    limits = httpx.Limits(max_keepalive_connections=1, max_connections=1)
    with httpx.Client(timeout=PATIENCE_S, limits=limits) as client:
        for _ in range(MAX_REQUESTS):
            rid = new_request_id()
            try:
                answer = client.post(f"{base}/v1/models/titanic/predict",
                                     json={"rows": [ROW] * ROWS},
                                     headers={**AUTH, "X-Request-ID": rid})
            except httpx.ConnectError:
                return  # refused: the listener is closed, nothing was sent
            except httpx.TransportError as error:
                outcomes.append(Outcome(rid, None, repr(error), True))
                continue
            answered[index] += 1
            if answer.status_code != 200:
                outcomes.append(Outcome(rid, answer.status_code, answer.text[:200], True))


def _sigterm_trial(root: Path) -> tuple[list[Outcome], int]:
    """One server under kept-alive load, stopped by SIGTERM: the failed requests, and how
    many were answered."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = _serve(root, port)
    failed: list[Outcome] = []
    answered = [0] * KEPT_ALIVE
    threads = [threading.Thread(target=_kept_alive_load, args=(base, failed, answered, i))
               for i in range(KEPT_ALIVE)]
    try:
        _wait_ready(process, base)
        for thread in threads:
            thread.start()
        wait_for(lambda: min(answered) >= 20, "every client's connection in use")
        process.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(PATIENCE_S)
        wait_for(lambda: process.poll() is not None, "exit within the grace period", GRACE_S)
        output = process.communicate()[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    return failed, sum(answered)


def test_kept_alive_clients_see_no_failure_across_sigterm(titanic: Path) -> None:
    # Between two requests, a kept-alive connection is idle: closing it then fails the
    # request its client is sending at that moment. Every request ends answered or refused.
    trials = [_sigterm_trial(titanic) for _ in range(TRIALS)]
    failed = [o for outcomes, _ in trials for o in outcomes]
    assert not failed, (len(failed), [answered for _, answered in trials], failed[:5])
