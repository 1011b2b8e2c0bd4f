"""A process that has imported Shipyard's heavy dependencies once and forks a ``shipyard``
command from that state for each request (run as a script by ``tests/e2e/cli.py``).

A fresh ``python -m shipyard ...`` spends 1–3 s of CPU importing MLflow, scikit-learn, pandas,
pyarrow and deltalake before it does anything (57% of a ``shipyard run train`` of the Titanic
example, py-spy): the end-to-end suite runs hundreds of commands. A forked child is still a
process of its own — its own working directory, environment, standard streams, exit code, and
``kill -9`` — so a test sees what a user's shell would, less the imports.

Nothing of Shipyard is imported here: its modules (and the console, which reads ``COLUMNS``
and ``NO_COLOR`` when created) are imported by each child, in the child's environment.

Protocol: one JSON request per line on stdin, ``{"argv", "cwd", "env", "stdout", "stderr"}``
(the last two: files for the child's output); the answer is one line ``{"pid": N}`` when the
child starts and one line ``{"code": N}`` when it ends (a negative code: killed by that signal,
as ``subprocess`` reports it).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback

import numpy as np

# What a command would otherwise import at every start (and does nothing at import time
# that a child's environment should decide). MLflow's telemetry is off as ``shipyard`` sets it.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
PRELOAD = ("numpy", "pandas", "pyarrow", "pyarrow.compute", "pyarrow.dataset", "deltalake",
           "sqlalchemy", "alembic", "duckdb", "scipy.stats", "sklearn", "skops.io", "mlflow",
           "mlflow.tracking", "pydantic", "typer", "rich.console", "httpx")


def _child(request: dict) -> None:
    """Become ``python -m shipyard ARGV`` in the request's folder and environment; never returns."""
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # the interpreter's own reading of its environment, as a new one would make it
        sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
        for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                                (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
            opened = os.open(path, flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
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


def main() -> None:
    for name in PRELOAD:
        __import__(name)
    answers = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        answers.write(json.dumps({"pid": pid}) + "\n")
        answers.flush()
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
