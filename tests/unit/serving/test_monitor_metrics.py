"""Rule states and drift shares stored by ``monitor check`` show on the server's /metrics."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from shipyard.monitoring.states import MonitorStates, drift_key
from shipyard.project import Project
from shipyard.serving.monitor_metrics import MonitorStateCollector


def test_states_are_exported_at_scrape_time(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text("project: p\nenvironments: {dev: {lake: lake}}\n")
    project = Project.open(tmp_path)
    registry = CollectorRegistry()
    registry.register(MonitorStateCollector(project))
    assert "shipyard_monitor_states_up 1.0" in generate_latest(registry).decode()

    states = MonitorStates.of(project)
    states.record("quarantine_waiting", "rule", "firing", value=2)
    states.record("lake_age", "rule", "unknown")
    states.record(drift_key("titanic"), "drift", "ok", value=0.25, subject="titanic")
    text = generate_latest(registry).decode()  # read again: no restart needed
    for line in ('shipyard_rule_firing{rule="quarantine_waiting"} 1.0',
                 'shipyard_rule_firing{rule="lake_age"} 0.0',
                 'shipyard_rule_value{rule="quarantine_waiting"} 2.0',
                 'shipyard_drift_share{model="titanic"} 0.25'):
        assert line in text
    assert 'shipyard_rule_value{rule="lake_age"}' not in text


def test_an_unreadable_database_does_not_fail_the_scrape(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(
        "project: p\nenvironments: {dev: {lake: lake, metadata_db: "
        "'postgresql+psycopg://postgres@127.0.0.1:1/nowhere'}}\n")
    registry = CollectorRegistry()
    registry.register(MonitorStateCollector(Project.open(tmp_path)))
    text = generate_latest(registry).decode()
    assert "shipyard_monitor_states_up 0.0" in text
    assert "shipyard_rule_firing{" not in text
