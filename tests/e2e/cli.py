"""Run the ``shipyard`` command as a user would: a process of its own in a project folder.

Each command is forked from a process that has already imported Shipyard's heavy
dependencies (tests/e2e/zygote.py): a process of its own all the same — its folder,
environment, output, signals and exit code — without 1–3 s of imports at every start.
:func:`start` gives a handle like ``subprocess.Popen``'s for commands a test signals or waits
for (servers); tests that must see the installed entry point itself start ``SHIPYARD`` with
``subprocess``.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

SHIPYARD = [sys.executable, "-m", "shipyard"]
TIMEOUT_S = 600
ZYGOTE_ENV = "SHIPYARD_TEST_ZYGOTE"  # where forkclient.py finds the zygote's socket
# a ``shipyard`` executable for shells (the README sessions): forwards to the zygote
FORK_CLIENT = Path(__file__).with_name("forkclient.py")


class _Zygote:
    """This test process's zygote, started at the first command; answers many at once."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._folder = tempfile.mkdtemp(prefix="shipyard-zygote-")
        atexit.register(shutil.rmtree, self._folder, ignore_errors=True)
        self.socket = os.path.join(self._folder, "socket")
        self._lock = threading.Lock()

    def started(self) -> str:
        """The zygote's socket, the zygote started first if it does not run."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                if os.path.exists(self.socket):
                    os.unlink(self.socket)
                self._process = subprocess.Popen(
                    [sys.executable, str(Path(__file__).with_name("zygote.py")), self.socket],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                assert self._process.stdout is not None
                if self._process.stdout.readline().strip() != "ready":
                    raise RuntimeError(f"the zygote did not start (exit {self._process.wait()})")
        return self.socket

    def connect(self) -> socket.socket:
        path = self.started()
        client = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        client.connect(path)
        return client


ZYGOTE = _Zygote()


class Forked:
    """A ``shipyard`` command forked by the zygote: ``pid``, ``poll``, ``wait``, ``terminate``,
    ``kill`` and ``returncode`` as on a ``Popen``; it is killed if the handle is closed or
    garbage-collected before it ends."""

    def __init__(self, args: tuple[str, ...] | list[str], cwd: Path, env: dict[str, str],
                 stdin: int, stdout: int, stderr: int) -> None:
        self.args = ["shipyard", *args]
        self._connection = ZYGOTE.connect()
        request = {"argv": list(args), "cwd": str(cwd), "env": env}
        socket.send_fds(self._connection, [json.dumps(request).encode()], [stdin, stdout, stderr])
        self.pid: int = json.loads(self._connection.recv(1 << 16))["pid"]
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._connection], [], [], 0)[0]:
            self._ended()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._connection], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self._ended()
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, number)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _ended(self) -> None:
        answer = self._connection.recv(1 << 16)
        self.returncode = json.loads(answer)["code"] if answer else -signal.SIGKILL
        self._connection.close()

    def __del__(self) -> None:
        self._connection.close()  # the zygote's waiter kills a command whose client left


def start(*args: str, cwd: Path, env: dict[str, str], output: Path) -> Forked:
    """``shipyard ARGS`` in ``cwd`` with ``env``, both output streams to the file ``output``."""
    with open(os.devnull, "rb") as nothing, output.open("wb") as out:
        return Forked(args, cwd, env, nothing.fileno(), out.fileno(), out.fileno())


def run(*args: str, cwd: Path, env: dict[str, str] | None = None,
        check: int | None = 0) -> subprocess.CompletedProcess[str]:
    """Run ``shipyard ARGS`` in ``cwd``; assert the exit code when ``check`` is not None."""
    environ = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    with (open(os.devnull, "rb") as nothing, tempfile.TemporaryFile() as out,
          tempfile.TemporaryFile() as err):
        command = Forked(args, cwd, environ, nothing.fileno(), out.fileno(), err.fileno())
        try:
            code = command.wait(TIMEOUT_S)
        except subprocess.TimeoutExpired:
            command.kill()
            command.wait()
            raise
        out.seek(0)
        err.seek(0)
        stdout, stderr = (f.read().decode(errors="replace") for f in (out, err))
    done = subprocess.CompletedProcess([*SHIPYARD, *args], code, stdout, stderr)
    if check is not None:
        assert done.returncode == check, (
            f"shipyard {' '.join(args)} exited {done.returncode}, expected {check}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done


def shell_bin(folder: Path) -> Path:
    """A folder holding a ``shipyard`` executable that runs each command in the zygote: put
    first on a shell's ``PATH``, with :data:`ZYGOTE_ENV` naming ``ZYGOTE.started()``."""
    folder.mkdir(parents=True, exist_ok=True)
    command = folder / "shipyard"
    command.write_text(f"#!{sys.executable} -IS\n{FORK_CLIENT.read_text()}")
    command.chmod(0o755)
    return folder


def python(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a project script (erp.py) with the same interpreter."""
    done = subprocess.run([sys.executable, script, *args], check=False, cwd=cwd, capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    return done
