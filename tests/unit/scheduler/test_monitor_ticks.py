"""The scheduler checks monitoring.rules once per monitoring.check_every period, and compacts
the logs once per monitoring.compact_every (daily by default in a project with models)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shipyard.lake.batches import BatchRegister
from shipyard.project import Project
from shipyard.scheduler import Started, tick
from shipyard.scheduler.ticks import compact_slot, monitor_slot

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


def test_logs_are_compacted_once_per_period(tmp_path: Path) -> None:
    from deltalake import DeltaTable

    from shipyard.monitoring.logschema import recommendations_path
    from shipyard.serving.predlog import PredictionLog

    (tmp_path / "shipyard.yaml").write_text(
        "project: p\nenvironments: {dev: {lake: lake}}\n"
        "monitoring: {compact_every: 1d, retention_days: 30}\n")
    project = Project.open(tmp_path)
    at = datetime(2026, 11, 28, 6, 20, tzinfo=UTC)
    writer = PredictionLog(project.lake_root, None)
    for i, when in enumerate([at - timedelta(days=40), at - timedelta(hours=1),
                              at - timedelta(minutes=30)]):  # one expired, three small files
        writer.record_recommendation("recommender", 1, "C00001", [("P1", 1.0)],
                                     source="results", k=1, latency_ms=2.0,
                                     request_id=f"r{i}", when=when)
        while not writer.queue.empty():
            writer.flush()
    path = recommendations_path(project.lake_root)
    assert DeltaTable(path).to_pyarrow_table().num_rows == 3
    slot = "2026-11-28T00:00:00+00:00"
    assert compact_slot(project, at) == slot
    (done,) = tick(project, at)
    assert (done.pipeline, done.trigger, done.slot, done.status) == (
        "monitoring", "compact", slot, "succeeded")
    assert "1 rows expired" in done.message
    assert sorted(DeltaTable(path).to_pyarrow_table().column("request_id").to_pylist()) == [
        "r1", "r2"]
    assert tick(project, at + timedelta(hours=5)) == []  # same day: compacted already


def test_a_project_with_defaults_compacts_its_prediction_log_daily(tmp_path: Path) -> None:
    """Before, nothing compacted the log unless monitoring.compact_every was set: a day of
    one-second appends stayed thousands of files for every read to open."""
    from deltalake import DeltaTable

    from shipyard.monitoring.logschema import predictions_path
    from shipyard.serving.predlog import PredictionLog

    (tmp_path / "shipyard.yaml").write_text(
        "project: p\nenvironments: {dev: {lake: lake}}\n"
        "pipelines: {train: {function: 'jobs:train'}}\n"
        "models: {churn: {pipeline: train, primary_metric: accuracy}}\n")
    project = Project.open(tmp_path)
    at = datetime(2026, 11, 28, 6, 20, tzinfo=UTC)
    writer = PredictionLog(project.lake_root, None)
    for second in range(5):  # the server's appends, one file each
        writer.record_refusal("churn", 1, 503, 1.0, request_id=f"r{second}",
                              when=at - timedelta(seconds=second))
        while not writer.queue.empty():
            writer.flush()
    path = predictions_path(project.lake_root, "churn")
    assert len(DeltaTable(path).file_uris()) == 5
    (done,) = tick(project, at)
    assert (done.trigger, done.slot, done.status) == (
        "compact", "2026-11-28T00:00:00+00:00", "succeeded")
    assert len(DeltaTable(path).file_uris()) == 1
    assert DeltaTable(path).to_pyarrow_table().num_rows == 5


def test_compaction_can_be_turned_off(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(
        "project: p\nenvironments: {dev: {lake: lake}}\n"
        "pipelines: {train: {function: 'jobs:train'}}\n"
        "models: {churn: {pipeline: train, primary_metric: accuracy}}\n"
        "monitoring: {compact_every: null}\n")
    project = Project.open(tmp_path)
    assert compact_slot(project, datetime.now(UTC)) is None
    assert tick(project) == []
