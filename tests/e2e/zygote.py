"""A process that has imported Shipyard's heavy dependencies once and forks a ``shipyard``
command from that state for each request (started by ``tests/e2e/cli.py``).

A fresh ``python -m shipyard ...`` spends 1–3 s of CPU importing MLflow, scikit-learn, pandas,
pyarrow and deltalake before it does anything (57% of a ``shipyard run train`` of the Titanic
example, py-spy): the end-to-end suite runs hundreds of commands and starts dozens of servers.
A forked child is still a process of its own — its own working directory, environment,
standard streams, exit code, signals and ``kill -9`` — so a test sees what a user's shell
would, less the imports.

Shipyard's own modules are imported here too, but for ``shipyard.cli`` (its console reads
``COLUMNS`` and ``NO_COLOR`` when created), ``__main__`` and the example projects' files: the
others read nothing of the environment when imported (tests/unit/test_import_time_environment.py
holds that), so a child that inherits them behaves as one that imported them itself.

Protocol, on a Unix socket of kind ``SOCK_SEQPACKET`` (one message a packet): a client
connects and sends one JSON packet ``{"argv", "cwd", "env"}`` carrying its standard input,
output and error as file descriptors (``SCM_RIGHTS``), so the child writes where the client's
would: a file, a pipe, a terminal. The answer is one packet ``{"pid": N}`` when the child
starts and one ``{"code": N}`` when it ends (a negative code: killed by that signal, as
``subprocess`` reports it). A client that goes away before the end takes its child with it
(``SIGKILL``): nothing outlives the test or shell that asked for it.

Each connection is served by a forked waiter that forks the command and watches both; the
zygote itself only accepts, so commands run side by side (a server and the CLI beside it).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import runpy
import select
import signal
import socket
import sys
import traceback

import numpy as np

# What a command or a server would otherwise import at every start (and does nothing at
# import time that a child's environment should decide). MLflow's telemetry is off as
# ``shipyard`` sets it.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
PRELOAD = ("numpy", "pandas", "pyarrow", "pyarrow.compute", "pyarrow.dataset", "deltalake",
           "sqlalchemy", "alembic", "duckdb", "scipy.stats", "sklearn", "skops.io", "mlflow",
           "mlflow.tracking", "pydantic", "typer", "rich.console", "httpx", "fastapi",
           "uvicorn", "jinja2", "onnxruntime", "prometheus_client", "optuna", "skl2onnx", "git",
           # MLflow's SQL stores map their tables when imported (configure_mappers): a
           # third of a command's CPU in test_model_lifecycle.py (py-spy) before they were here
           "mlflow.store.tracking.sqlalchemy_store",
           "mlflow.store.model_registry.sqlalchemy_store")
KEPT_FOR_THE_CHILD = ("shipyard.cli", "shipyard.__main__", "shipyard.examples")
STREAMS = 3  # stdin, stdout, stderr


def _command(request: dict, streams: list[int]) -> None:
    """Become ``python -m shipyard ARGV`` in the request's folder, environment and streams;
    never returns."""
    code = 1
    try:
        for fd, stream in enumerate(streams):
            os.dup2(stream, fd)
            os.close(stream)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # the interpreter's own reading of its environment, as a new one would make it
        sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
        np.random.seed()  # as a new interpreter would: not the state every child shares
        sys.argv = ["shipyard", *request["argv"]]
        runpy.run_module("shipyard", run_name="__main__", alter_sys=True)  # exits by itself
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else int(done.code is not None)
    except BaseException:  # noqa: BLE001 - printed as the interpreter would, then exit 1
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _serve(connection: socket.socket) -> None:
    """One client's request, in a waiter process: fork the command, report its pid and exit
    code; kill it if the client hangs up first. Never returns."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        message, streams, _, _ = socket.recv_fds(connection, 1 << 20, STREAMS)
        if len(streams) != STREAMS:
            raise ValueError(f"expected {STREAMS} file descriptors, got {len(streams)}")
        pid = os.fork()
        if pid == 0:
            connection.close()
            _command(json.loads(message), streams)
        for stream in streams:
            os.close(stream)
        connection.send(json.dumps({"pid": pid}).encode())
        ended = os.pidfd_open(pid)
        while True:
            ready, _, _ = select.select([ended, connection], [], [])
            if ended in ready:
                break
            if not connection.recv(1, socket.MSG_PEEK):  # the client is gone
                os.kill(pid, signal.SIGKILL)
                break
        _, status = os.waitpid(pid, 0)
        with contextlib.suppress(OSError):  # the client is gone: nobody to tell
            connection.send(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode())
    finally:
        os._exit(0)


def shipyard_modules() -> list[str]:
    """Shipyard's modules that a child may inherit already imported (see the docstring)."""
    import shipyard

    names, packages = [], [(shipyard.__path__, "shipyard.")]
    while packages:  # not pkgutil.walk_packages: it imports every package to look inside
        path, prefix = packages.pop()
        for info in pkgutil.iter_modules(path, prefix):
            if info.name.startswith(KEPT_FOR_THE_CHILD):
                continue
            names.append(info.name)
            if info.ispkg:
                packages.append(([os.path.join(path[0], info.name.rsplit(".", 1)[1])],
                                 info.name + "."))
    return sorted(names)


def main(path: str) -> None:
    """Serve requests on the socket at ``path`` until standard input closes (the test process
    that started the zygote has ended)."""
    for name in PRELOAD:
        __import__(name)
    for name in shipyard_modules():
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # waiters are reaped by the kernel
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    sys.stdout.write("ready\n")  # the parent waits for this line, not for a time
    sys.stdout.flush()
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1):
            return
        if listener not in ready:
            continue
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            _serve(connection)
        connection.close()


if __name__ == "__main__":
    main(sys.argv[1])
