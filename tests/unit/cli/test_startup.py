"""Start-up: a command imports only what it uses, and the root help imports no command.

``shipyard --version`` used to take 7-14 s because building the command tree imported MLflow,
SciPy, scikit-learn and pandas for every command (issue 10). These tests read what the
interpreter really imported (``-X importtime``), in a fresh process like a user's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.cli.main import _Commands
from shipyard.cli.monitor import _Commands as _MonitorCommands

HEAVY_FOR_ALL = ("mlflow", "scipy", "sklearn", "pandas", "pyarrow", "deltalake", "sqlalchemy")


def _imported(*argv: str, cwd: Path | None = None) -> set[str]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "shipyard", *argv],
                          capture_output=True, text=True, cwd=cwd, timeout=300, check=False)
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert names, done.stderr  # the interpreter printed its import log
    return names


def _top_level(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


@pytest.mark.parametrize("argv", [["--help"], ["--version"], []])
def test_help_and_version_import_no_ml_or_data_library(argv: list[str]) -> None:
    loaded = _top_level(_imported(*argv))
    assert not loaded & set(HEAVY_FOR_ALL), sorted(loaded & set(HEAVY_FOR_ALL))
    assert not {n for n in _imported(*argv) if n.startswith("shipyard.cli.")} - {
        "shipyard.cli.main", "shipyard.cli.console", "shipyard.cli.lazy"}


def test_lake_commands_do_not_import_mlflow_or_scikit_learn(tmp_path: Path) -> None:
    loaded = _top_level(_imported("lake", "ls", "--project", str(tmp_path)))
    assert "shipyard" in loaded
    assert not loaded & {"mlflow", "sklearn", "optuna"}, sorted(loaded)


def test_runs_ls_imports_neither_mlflow_nor_scikit_learn(tmp_path: Path) -> None:
    # issue 22: 6 s under load for a list read from the metadata database
    (tmp_path / "shipyard.yaml").write_text("project: tiny\nenvironments:\n  dev: {lake: lake}\n")
    loaded = _top_level(_imported("runs", "ls", "--project", str(tmp_path)))
    assert "shipyard" in loaded
    assert not loaded & {"mlflow", "sklearn", "optuna", "pandas"}, sorted(loaded)


def test_a_command_runs_once_resolved() -> None:
    done = subprocess.run([sys.executable, "-m", "shipyard", "lake", "--help"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "history" in done.stdout and "show" in done.stdout


@pytest.mark.parametrize("lazy", _Commands.COMMANDS, ids=lambda c: c.name)
def test_root_help_line_is_the_command_own_help(lazy) -> None:  # type: ignore[no-untyped-def]
    # The root help shows a copy of each command's first help line, so that listing the
    # commands imports none of them; this keeps the copy true.
    assert lazy.help == lazy.load().get_short_help_str(limit=500)


def test_monitor_help_imports_none_of_its_subcommands() -> None:
    loaded = _imported("monitor", "--help")
    assert not _top_level(loaded) & set(HEAVY_FOR_ALL), sorted(_top_level(loaded) & set(HEAVY_FOR_ALL))
    assert not {n for n in loaded if n.startswith("shipyard.cli.monitor_")}, sorted(loaded)


@pytest.mark.parametrize("lazy", _MonitorCommands.COMMANDS, ids=lambda c: c.name)
def test_monitor_help_line_is_the_subcommand_own_help(lazy) -> None:  # type: ignore[no-untyped-def]
    assert lazy.help == lazy.load().get_short_help_str(limit=500)
