"""Start ``shipyard serve`` as a user would, on a free port, and stop it afterwards.

Nothing here assumes a fast machine: start-up, requests and shutdown get bounds of minutes
(the suite also runs pinned to one busy core), and :func:`wait_for` polls for a condition
instead of sleeping for a time that happens to suffice.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.e2e.cli import start

KEY = "e2e-key-" + "x" * 24
AUTH = {"Authorization": f"Bearer {KEY}"}
PATIENCE_S = 300.0  # bound of every wait: far beyond what a slow, shared machine needs
# One client for the tests' own requests: the default 5 s timeout is a fast machine's.
http = httpx.Client(timeout=PATIENCE_S)
SERVER_PIDS: dict[str, int] = {}
"""The process of each running :func:`serving` server, by base URL (they are forked by the
zygote, not children of the test: a test that watches a server's children asks here)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], bool], what: str, bound_s: float = PATIENCE_S) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``bound_s``."""
    deadline = time.monotonic() + bound_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not so within {bound_s:.0f} s")
        time.sleep(0.1)


@contextmanager
def serving(root: Path, *args: str, keys: tuple[str, ...] = (),
            until: str = "/ready") -> Iterator[str]:
    """The base URL of a server for the project at ``root``, once ``until`` answers 200: its
    models loaded (/ready), or only up (/health: a model has no production version yet).
    It accepts :data:`KEY` and ``keys`` (``KEY:viewer`` entries give a role)."""
    port = free_port()
    env = {**os.environ, "SHIPYARD_API_KEYS": ",".join((KEY, *keys))}
    with tempfile.TemporaryDirectory(prefix="shipyard-serve-") as folder:
        log = Path(folder, "serve.log")
        process = start("serve", "--port", str(port), *args, cwd=root, env=env, output=log)
        base = f"http://127.0.0.1:{port}"
        SERVER_PIDS[base] = process.pid

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"shipyard serve exited: {log.read_text(errors='replace')}")
            try:
                return http.get(f"{base}{until}", headers=AUTH).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_for(ready, f"shipyard serve answering {until}")
            yield base
        finally:
            SERVER_PIDS.pop(base)
            process.terminate()  # the server flushes its prediction log on the way out
            try:
                process.wait(timeout=PATIENCE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
