"""Run the ``shipyard`` command as a user would: a subprocess in a project folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SHIPYARD = [sys.executable, "-m", "shipyard"]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None,
        check: int | None = 0) -> subprocess.CompletedProcess[str]:
    """Run ``shipyard ARGS`` in ``cwd``; assert the exit code when ``check`` is not None."""
    environ = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    done = subprocess.run([*SHIPYARD, *args], check=False, cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=600)
    if check is not None:
        assert done.returncode == check, (
            f"shipyard {' '.join(args)} exited {done.returncode}, expected {check}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done


def python(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a project script (erp.py) with the same interpreter."""
    done = subprocess.run([sys.executable, script, *args], check=False, cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done
