"""Upkeep of the server's logs on real Delta tables (retention, compaction, vacuum), and the
lookup of one request by its id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from deltalake import DeltaTable

from shipyard.errors import NotFoundError
from shipyard.monitoring import compact_logs, find_request
from shipyard.monitoring.logschema import new_request_id
from shipyard.project import Project
from shipyard.serving.predlog import PredictionLog

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
DAY = timedelta(days=1)
SIGNATURE = [("age", "double", True), ("sex", "string", True)]
YAML = """\
project: p
environments: {dev: {lake: lake}}
pipelines: {train: {function: "jobs:train"}}
models: {titanic: {pipeline: train, primary_metric: auc}}
monitoring: {retention_days: 10}
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "shipyard.yaml").write_text(YAML)
    return Project.open(tmp_path)


def _serve(log: PredictionLog, when: datetime, request_id: str, age: float = 30.0) -> None:
    log.record("titanic", 1, SIGNATURE, [{"age": age, "sex": "male"}, {"age": None,
               "sex": "female"}], [0.25, 0.75], 2.0, request_id=request_id, when=when)
    log.flush()  # one small file per request, as a busy server leaves them


def test_compaction_drops_expired_rows_and_merges_small_files(project: Project) -> None:
    log = PredictionLog(project.lake_root, None)
    for i in range(4):
        _serve(log, NOW - 20 * DAY, f"old{i}")      # past the 10 days kept
        _serve(log, NOW - DAY, f"new{i}")
    log.record_recommendation("recommender", 2, "C1", [("P1", 1.0)], source="results", k=1,
                              latency_ms=1.0, request_id="rec", when=NOW - DAY)
    log.flush()
    (predictions, recommendations) = compact_logs(project, now=NOW, vacuum_hours=0)
    assert (predictions.table, predictions.files_before, predictions.rows_removed) == (
        "predictions/titanic", 8, 8)
    assert predictions.files_after == 1 and predictions.files_vacuumed == 8
    path = Path(project.lake_root) / "monitoring" / "predictions" / "titanic"
    left = DeltaTable(str(path)).to_pyarrow_table()
    assert sorted(set(left["request_id"].to_pylist())) == ["new0", "new1", "new2", "new3"]
    assert len(list(path.rglob("*.parquet"))) == 1  # the replaced files are gone from disk
    assert (recommendations.table, recommendations.rows_removed) == ("recommendations", 0)


def test_compaction_without_logs_does_nothing(project: Project) -> None:
    assert compact_logs(project, now=NOW) == []


def test_a_request_is_found_by_its_id_and_an_unknown_one_names_where_it_looked(
        project: Project) -> None:
    log = PredictionLog(project.lake_root, None)
    wanted = new_request_id((NOW - 2 * DAY).timestamp())
    _serve(log, NOW - 2 * DAY, wanted, age=41.0)
    _serve(log, NOW - 2 * DAY, new_request_id((NOW - 2 * DAY).timestamp()))
    _serve(log, NOW - 3 * DAY, "from-a-gateway")
    log.record_recommendation("recommender", 2, "C1", [("P1", 1.0)], source="results", k=1,
                              latency_ms=1.0, request_id="rec-1", when=NOW - DAY)
    log.flush()
    found = find_request(project, wanted, now=NOW)
    assert (found.table, found.model, found.version) == ("predictions/titanic", "titanic", 1)
    assert [(r["age"], r["sex"], r["prediction"]) for r in found.rows] == [
        (41.0, "male", 0), (None, "female", 1)]
    assert find_request(project, "from-a-gateway", now=NOW).time == NOW - 3 * DAY
    served = find_request(project, "rec-1", now=NOW)
    assert served.is_recommendation and (served.model, served.version) == ("recommender", 2)
    assert served.rows[0]["items"] == ["P1"] and not served.rows[0]["fallback"]
    with pytest.raises(NotFoundError) as error:
        find_request(project, "from-a-gateway", now=NOW + 20 * DAY)  # past the retention
    message = str(error.value)
    assert "no request 'from-a-gateway' logged from 2026-12-08 to 2026-12-18" in message
    assert "monitoring.retention_days" in message and "predictions/titanic" in message
    assert "X-Request-ID" in message
