"""The scheduler checks monitoring.rules once per monitoring.check_every period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shipyard.lake.batches import BatchRegister
from shipyard.project import Project
from shipyard.scheduler import Started, tick
from shipyard.scheduler.ticks import monitor_slot

YAML = """\
project: p
environments: {dev: {lake: lake}}
monitoring:
  check_every: 15m
  rules: [{kind: quarantine_waiting, threshold: 0}]
"""


def test_rules_are_checked_once_per_period(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(YAML)
    project = Project.open(tmp_path)
    batches = BatchRegister.of(project)
    batches.update(batches.create("events", source_query="q", watermark_from=None).id,
                   status="rejected")
    at = datetime(2026, 11, 28, 6, 20, tzinfo=UTC)
    slot = "2026-11-28T06:15:00+00:00"
    assert monitor_slot(project, at) == slot
    assert tick(project, at) == [Started("monitoring", "check", slot, "succeeded", None,
                                         "firing: quarantine_waiting")]
    assert tick(project, at + timedelta(minutes=9)) == []  # same period: checked already
    (again,) = tick(project, at + timedelta(minutes=10))
    assert again.slot == "2026-11-28T06:30:00+00:00"


def test_no_check_every_means_no_checks(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(YAML.replace("  check_every: 15m\n", ""))
    project = Project.open(tmp_path)
    assert monitor_slot(project, datetime.now(UTC)) is None
    assert tick(project) == []
