"""``shipyard serve`` that cannot listen says so at once, before anything else."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from tests.e2e.cli import SHIPYARD, run
from tests.e2e.server import KEY, PATIENCE_S


def test_a_busy_port_is_a_usage_error_naming_it_before_any_serving_line(
        tmp_path: Path) -> None:
    run("example", "titanic", str(tmp_path / "titanic"), cwd=tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*SHIPYARD, "serve", "--port", str(port)],
                              cwd=tmp_path / "titanic", capture_output=True, text=True,
                              env={**os.environ, "SHIPYARD_API_KEYS": KEY, "COLUMNS": "200"},
                              timeout=PATIENCE_S, check=False)
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2, output  # a usage error, as a wrong option is
    assert f"port {port} on 127.0.0.1 is already in use" in output
    assert "--port" in output and "Serving" not in output and "Traceback" not in output
