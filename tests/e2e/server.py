"""Start ``shipyard serve`` as a user would, on a free port, and stop it afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.e2e.cli import SHIPYARD

KEY = "e2e-key-" + "x" * 24
AUTH = {"Authorization": f"Bearer {KEY}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(root: Path, *args: str) -> Iterator[str]:
    """The base URL of a server for the project at ``root``, its models loaded (/ready)."""
    port = free_port()
    env = {**os.environ, "SHIPYARD_API_KEYS": KEY}
    process = subprocess.Popen([*SHIPYARD, "serve", "--port", str(port), *args], cwd=root,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"shipyard serve exited: {process.stdout.read()}")
            try:
                if httpx.get(f"{base}/ready", headers=AUTH, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("shipyard serve was not ready within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
