"""The deployment rehearsed as a system: ``shipyard deploy rehearse`` starts the recommender's
rendered ``team`` manifests as 3 replicas behind HAProxy, against the team stack, and runs a
promotion pickup, a rolling update and a scale 3 → 6 → 3 while 16 clients send requests
through the balancer. None of them may fail; every replica serves the promoted version; a UI
session signed in through the balancer works on every replica; and ``monitor check``, run after
the replicas stopped, counts exactly the recommendation requests answered.

The kill -9 of a replica is measured by benchmarks/rehearsal.py: what the killed process had
not yet flushed of its prediction log is lost, so the count could not be exact.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.e2e.server import KEY
from tests.e2e.team.conftest import TeamSpace
from tests.e2e.team.test_roles import ERP, Roles, team

pytestmark = pytest.mark.slow


@pytest.fixture
def roles(tmp_path: Path, team_space: TeamSpace, monkeypatch: pytest.MonkeyPatch) -> Roles:
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("haproxy is not installed: 'make haproxy'")
        pytest.skip("haproxy is not installed: 'make haproxy'")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("SHIPYARD_USER", f"{team_space.name}-ops")
    return Roles(tmp_path, f"rec_{team_space.name}")


def test_rehearsal_of_the_team_deployment(roles: Roles, team_space: TeamSpace,
                                          tmp_path: Path) -> None:
    roles.erp("init", *ERP)
    team("ingest", cwd=roles.dir("ingest"))
    team("run", "train", cwd=roles.dir("train"))
    team("models", "promote", roles.model, "1", "--reason", "first", cwd=roles.dir("promote"))
    done = team("run", "baseline", cwd=roles.dir("baseline"))
    assert f"{roles.model} version 2" in done.stdout, done.stdout
    run("deploy", "build", "--env", "team", cwd=roles.template)

    secrets = tmp_path / "secrets.env"  # what the Secret would hold: the stores and the keys
    secrets.write_text("".join(f"{k}={v}\n" for k, v in
                               {**team_space.env, "SHIPYARD_API_KEYS": KEY}.items()))
    figures_file = tmp_path / "rehearsal.json"
    rehearsed = run("deploy", "rehearse", "--env", "team", "--replicas", "3",
                    "--secrets", str(secrets), "--promote", "2",
                    "-o", "pickup", "-o", "rollout", "-o", "scale",
                    "--job", "recommend",
                    "--figures", str(figures_file), cwd=roles.template)
    assert "Not shown by a rehearsal" in rehearsed.stdout
    figures = json.loads(figures_file.read_text())

    for operation in ("pickup", "rollout", "scale"):
        assert figures[operation]["failed"] == 0, (operation, figures[operation])
        assert figures[operation]["answered"] > 0, (operation, figures[operation])
    assert figures["pickup"]["replicas_serving"] == figures["pickup"]["replicas"] == 3
    assert figures["rollout"]["replaced"] == 3
    assert (figures["scale"]["from"], figures["scale"]["to"]) == (3, 6)
    assert figures["ui_session"] == {"signed_in": True, "replicas": 3,
                                     "replicas_where_it_works": 3}
    assert figures["files_written_in_app"] == []

    # the replicas flushed their prediction logs on SIGTERM: monitor check counts every answer
    checked = " ".join(team("monitor", "check", cwd=roles.dir("monitor")).stdout.split())
    counted = re.findall(r"(\d+) answered requests", checked)
    assert counted == [str(figures["answered_recommendations"])], checked
