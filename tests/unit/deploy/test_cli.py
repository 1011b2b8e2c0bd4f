"""The ``shipyard deploy`` group: lazy like the root, and validate's exit code."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shipyard.cli.deploy import _DeployCommands
from shipyard.project import Project


@pytest.mark.parametrize("lazy", _DeployCommands.COMMANDS, ids=lambda c: c.name)
def test_group_help_line_is_the_command_own_help(lazy) -> None:  # type: ignore[no-untyped-def]
    assert lazy.help == lazy.load().get_short_help_str(limit=500)


def test_validate_exits_2_and_prints_the_table_and_each_problem(project: Project) -> None:
    hpa = project.root / "deploy/k8s/base/hpa.yaml"
    hpa.write_text(hpa.read_text().replace("minReplicas: 3", "minReplicas: 7"))
    done = subprocess.run([sys.executable, "-m", "shipyard", "deploy", "validate", "-p",
                           str(project.root)], capture_output=True, text=True, timeout=300,
                          env={"COLUMNS": "200", "NO_COLOR": "1", "PATH": "/usr/bin:/bin",
                               "DEMO_DB": "postgresql://db/x", "PYTHONPATH": ":".join(sys.path)},
                          check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "policy: autoscaling" in done.stdout and "1 problem(s)" in done.stdout
    assert ("deploy/k8s/base/hpa.yaml: HorizontalPodAutoscaler/demo-shop spec.minReplicas: "
            "minReplicas 7 is above maxReplicas 6") in done.stdout
