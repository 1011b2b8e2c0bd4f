"""Run the ``shipyard`` command as a user would: a process of its own in a project folder.

Each command is forked from a process that has already imported Shipyard's heavy
dependencies (tests/e2e/zygote.py): a process of its own all the same — its folder,
environment, output and exit code — without 1–3 s of imports at every start. Tests that
start the command themselves (to signal or kill it) use ``SHIPYARD`` with ``subprocess``.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

SHIPYARD = [sys.executable, "-m", "shipyard"]
TIMEOUT_S = 600


class _Zygote:
    """This test process's zygote, started at the first command; one command at a time."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def run(self, args: tuple[str, ...], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
        with self._lock, tempfile.TemporaryDirectory(prefix="shipyard-cli-") as folder:
            out, err = Path(folder, "stdout"), Path(folder, "stderr")
            zygote = self._started()
            assert zygote.stdin is not None and zygote.stdout is not None
            zygote.stdin.write(json.dumps({"argv": list(args), "cwd": str(cwd), "env": env,
                                           "stdout": str(out), "stderr": str(err)}) + "\n")
            zygote.stdin.flush()
            pid = json.loads(zygote.stdout.readline())["pid"]
            with selectors.DefaultSelector() as waiting:
                waiting.register(zygote.stdout, selectors.EVENT_READ)
                if not waiting.select(TIMEOUT_S):
                    os.kill(pid, signal.SIGKILL)
                    zygote.stdout.readline()
                    raise subprocess.TimeoutExpired(["shipyard", *args], TIMEOUT_S)
            code = json.loads(zygote.stdout.readline())["code"]
            return code, out.read_text(errors="replace"), err.read_text(errors="replace")

    def _started(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("zygote.py"))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        return self._process


_ZYGOTE = _Zygote()


def run(*args: str, cwd: Path, env: dict[str, str] | None = None,
        check: int | None = 0) -> subprocess.CompletedProcess[str]:
    """Run ``shipyard ARGS`` in ``cwd``; assert the exit code when ``check`` is not None."""
    environ = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    code, stdout, stderr = _ZYGOTE.run(args, cwd, environ)
    done = subprocess.CompletedProcess([*SHIPYARD, *args], code, stdout, stderr)
    if check is not None:
        assert done.returncode == check, (
            f"shipyard {' '.join(args)} exited {done.returncode}, expected {check}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done


def python(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a project script (erp.py) with the same interpreter."""
    done = subprocess.run([sys.executable, script, *args], check=False, cwd=cwd, capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    return done
