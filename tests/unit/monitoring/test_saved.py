"""What monitoring measured, read back for the Monitoring page: drift reports newest first,
outcomes as saved, and every declared rule beside its stored state."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

import pytest

from shipyard.monitoring.outcomes import Outcome, OutcomesReport, Scores, write_outcomes
from shipyard.monitoring.report import column_figure, report_prefix
from shipyard.monitoring.saved import drift_reports, latest_outcomes, monitored_models, rule_states
from shipyard.monitoring.states import MonitorStates
from shipyard.project import Project

YAML = """\
project: p
environments: {dev: {lake: lake}}
pipelines: {train: {function: "jobs:train"}}
models: {recommender: {pipeline: train, primary_metric: map_at_10}}
monitoring:
  rules:
    - {kind: lake_age, threshold: 26h}
    - {kind: drift, target: recommender, threshold: 0.5}
"""

COLUMN = {"column": "basket_size", "kind": "drift", "test": "ks", "statistic": 0.3,
          "p_value": 0.001, "effect": 0.3, "psi": 0.4, "drifted": True,
          "reason": "shifted: D=0.30, PSI=0.40, p=0.001", "reference_rows": 100,
          "current_rows": 90, "bins": {"labels": ["≤ 1", "> 1"], "reference": [0.6, 0.4],
                                       "current": [0.2, 0.8]}}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "shipyard.yaml").write_text(YAML)
    return Project.open(tmp_path)


def save_drift(project: Project, stamp: str, drifted: bool) -> PurePosixPath:
    path = report_prefix("recommender") / f"drift-{stamp}.json"
    project.state.put(str(path), json.dumps({
        "model": "recommender", "version": 2, "created": "2026-11-28T08:10:52+00:00",
        "window": {"start": "2026-11-21T08:00:00+00:00", "end": "2026-11-28T08:00:00+00:00"},
        "rows": 90, "verdict": {"drifted": drifted, "columns": ["basket_size"] if drifted else []},
        "results": [COLUMN]}).encode())
    return path


def test_drift_reports_are_listed_newest_first_and_a_broken_one_is_skipped(
        project: Project) -> None:
    save_drift(project, "20261127T080000000000Z", False)
    newest = save_drift(project, "20261128T080000000000Z", True)
    project.state.put(str(newest.parent / "drift-20261128T090000000000Z.json"),
                      b'{"model": "recomm')

    found = drift_reports(project, "recommender")

    assert found[0].path == newest and len(found) == 2
    assert (found[0].drifted, found[0].columns, found[0].version) == (True, ["basket_size"], 2)
    assert found[0].window == "2026-11-21 08:00 – 2026-11-28 08:00 UTC"
    assert found[0].page == newest.with_suffix(".html")
    assert len(drift_reports(project, "recommender", limit=1)) == 1
    assert drift_reports(project, "other") == []
    figure = column_figure(found[0].data["results"][0])  # the report's own figure
    assert [t.name for t in figure.data] == ["previous window", "current window"]
    assert "DRIFTED" in figure.layout.title.text
    assert monitored_models(project) == ["recommender"]


def test_outcomes_read_back_as_they_were_saved(project: Project) -> None:
    assert latest_outcomes(project, "recommender") is None
    report = OutcomesReport("recommender", [
        Outcome("s1", datetime(2026, 11, 1, tzinfo=UTC), 1, 10, 500, (date(2026, 10, 31),
                date(2026, 11, 30)), 300, Scores(0.8, 0.2, 0.21), Scores(0.7, 0.15, 0.12),
                0.7, 0.4, 0.9, None),
        Outcome("s2", datetime(2026, 12, 1, tzinfo=UTC), 2, 10, 510, None, 0, None, None,
                0.75, 0.38, 0.88, 0.05)], notes=["a note"])
    _, page = write_outcomes(project, report)

    read, read_page = latest_outcomes(project, "recommender") or (None, None)

    assert read is not None and read.outcomes == report.outcomes
    assert (read.notes, read.created, read_page) == (report.notes, report.created, page)


def test_every_declared_rule_is_shown_with_its_state_or_as_not_checked(project: Project) -> None:
    states = MonitorStates.of(project)
    states.record("drift:recommender", "drift", "firing", value=0.75, subject="recommender",
                  detail="/reports/drift.html")
    states.record("removed_rule", "rule", "ok", value=1.0)

    found = {r.key: r for r in rule_states(project)}

    assert list(found) == ["lake_age", "drift:recommender", "removed_rule"]
    assert (found["lake_age"].state, found["lake_age"].threshold) == ("not checked", "26h")
    drift = found["drift:recommender"]
    assert (drift.state, drift.target, drift.threshold) == ("firing", "recommender", "0.5")
    assert drift.stored is not None and drift.stored.detail == "/reports/drift.html"
    assert drift.stored.since is not None
    assert found["removed_rule"].threshold is None  # no longer declared, still stored
