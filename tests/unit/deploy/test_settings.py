"""The ``deploy:`` section: defaults that work, and mistakes named before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shipyard.config import parse_config
from shipyard.deploy import build_deploy
from shipyard.deploy.kubernetes import _every, default_schedules
from shipyard.errors import ConfigError
from shipyard.project import Project

MINIMAL = {"project": "p", "environments": {"dev": {"lake": "lake"}}}


def test_defaults() -> None:
    deploy = parse_config(MINIMAL).deploy
    assert (deploy.autoscaling.min, deploy.autoscaling.max, deploy.autoscaling.cpu) == (3, 6, 50)
    assert (deploy.tag, deploy.uid, deploy.port, deploy.base) == ("v1", 10001, 8000,
                                                                 "python:3.11-slim")
    assert deploy.grace_period_s > deploy.drain_s
    assert default_schedules(parse_config(MINIMAL)) == {}  # nothing to run on a schedule


MODELS = {"pipelines": {"train": {"function": "jobs:train"}},
          "models": {"churn": {"pipeline": "train", "primary_metric": "accuracy"}}}


def test_a_project_with_models_compacts_its_logs_daily_unless_told_otherwise() -> None:
    """A served model's log is thousands of small files a day: compaction is on by default."""
    schedules = default_schedules(parse_config({**MINIMAL, **MODELS}))
    assert (schedules["monitor-compact"].cron, schedules["monitor-compact"].command) == (
        "0 0 * * *", "monitor compact")
    off = parse_config({**MINIMAL, **MODELS, "monitoring": {"compact_every": None}})
    assert "monitor-compact" not in default_schedules(off)


@pytest.mark.parametrize(("deploy", "words"), [
    ({"autoscaling": {"min": 7, "max": 6}}, "deploy.autoscaling: min (7) is greater than max (6)"),
    ({"tag": "has space"}, "deploy.tag"),
    ({"resources": {"cpu_limit": "two"}}, "deploy.resources.cpu_limit"),
    ({"drain_s": 30, "grace_period_s": 30}, "drain_s (30) must be shorter than grace_period_s"),
    ({"schedules": {"Train": {"cron": "0 3 * * *", "command": "run train"}}}, "deploy.schedules"),
    ({"schedules": {"train": {"cron": "daily", "command": "run train"}}}, "cron"),
    ({"replicas": 3}, "deploy.replicas: unknown key"),
])
def test_a_bad_deploy_section_names_the_key(deploy: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=r"shipyard\.yaml is invalid") as raised:
        parse_config({**MINIMAL, "deploy": deploy})
    assert words in str(raised.value)


def test_an_overlay_for_an_undeclared_environment_is_refused(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(yaml.safe_dump(
        {**MINIMAL, "deploy": {"environments": {"staging": {"ingress_host": "x.example.com"}}}}))
    with pytest.raises(ConfigError, match="deploy: environment 'staging' is not declared"):
        build_deploy(Project.open(tmp_path, "dev"))
    assert not (tmp_path / "deploy").exists()


def test_monitoring_schedules_follow_the_monitoring_section() -> None:
    config = parse_config({**MINIMAL, "monitoring": {
        "check_every": "10m", "compact_every": "1d",
        "rules": [{"kind": "lake_age", "threshold": "26h"}]}})
    schedules = default_schedules(config)
    assert (schedules["monitor-check"].cron, schedules["monitor-check"].command) == (
        "*/10 * * * *", "monitor check")
    assert schedules["monitor-compact"].cron == "0 0 * * *"


@pytest.mark.parametrize(("every", "cron"), [("1m", "* * * * *"), ("15m", "*/15 * * * *"),
                                             ("90s", "* * * * *"), ("2h", "0 */2 * * *"),
                                             ("1h", "0 * * * *"), ("1d", "0 0 * * *"),
                                             ("1w", "0 0 * * 1")])
def test_every_as_cron(every: str, cron: str) -> None:
    assert _every(every) == cron


def test_declared_schedules_replace_the_defaults() -> None:
    config = parse_config({**MINIMAL, "deploy": {"schedules": {
        "weekly-train": {"cron": "0 3 * * 1", "command": "run train --no-cache"}}}})
    assert list(default_schedules(config)) == ["weekly-train"]


def test_a_grace_period_shorter_than_the_server_drain_is_said(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(yaml.safe_dump(MINIMAL))
    project = Project.open(tmp_path, "dev")
    # serving.shutdown_grace_s: how long the server lets requests finish after SIGTERM
    serving = project.config.serving.model_copy(update={"shutdown_grace_s": 40})
    slow = Project(project.root, project.config.model_copy(update={"serving": serving}), "dev")
    warnings = build_deploy(slow).warnings
    assert any("deploy.grace_period_s (30) is not above deploy.drain_s (5) + "
               "serving.shutdown_grace_s (40)" in w for w in warnings), warnings
