"""Monitoring reports are kept by count and by age, in a folder or on S3, and share one copy
of the chart library instead of inlining it in every page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shipyard.errors import ConfigError
from shipyard.monitoring.report import REPORTS, save_report
from shipyard.monitoring.retention import expire_reports
from shipyard.project import Project
from tests.unit.test_state import BUCKET, s3_env  # noqa: F401 (fixture, shared)

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


@pytest.fixture(params=["folder", "s3"])
def project(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Project:
    state = ""
    if request.param == "s3":
        for key, value in request.getfixturevalue("s3_env").items():
            monkeypatch.setenv(key, value)
        state = f"\n    state: s3://{BUCKET}/{uuid.uuid4().hex}/state"
    (tmp_path / "shipyard.yaml").write_text(
        f"project: p\nenvironments:\n  dev:\n    lake: lake{state}\n"
        "monitoring:\n  reports: {keep: 3, days: 10}\n")
    return Project.open(tmp_path)


def save(project: Project, model: str, kind: str, days_ago: float) -> str:
    made = NOW - timedelta(days=days_ago)
    stem = f"{kind}-{made:%Y%m%dT%H%M%S%fZ}"
    save_report(project, model, stem, {"created": made.isoformat()},
                "<html><script src=\"../plotly.min.js\"></script></html>")
    return stem


def stems(project: Project) -> set[str]:
    return {Path(k).stem for k in project.state.list(REPORTS) if k.endswith(".json")}


def test_reports_beyond_the_count_or_the_age_are_removed_the_newest_always_kept(
        project: Project) -> None:
    drift = [save(project, "churn", "drift", d) for d in (0.1, 1, 2, 3, 4)]  # 5: 3 kept
    outcomes = [save(project, "churn", "outcomes", d) for d in (1, 20)]  # the old one goes
    stale = save(project, "recs", "drift", 40)  # old, but the only one: kept
    done = expire_reports(project, now=NOW)
    assert stems(project) == {*drift[:3], outcomes[0], stale}
    assert (done.removed, done.kept) == (3, 5)
    keys = project.state.list(REPORTS)
    assert not [k for k in keys if Path(k).stem in {*drift[3:], outcomes[1]}]  # pages too
    assert f"{REPORTS}/plotly.min.js" in keys  # the shared library stays
    assert expire_reports(project, now=NOW).removed == 0


def test_pages_reference_one_chart_library_kept_beside_them(project: Project) -> None:
    save(project, "churn", "drift", 0)
    save(project, "churn", "drift", 1)
    library = project.state.get(f"{REPORTS}/plotly.min.js")
    assert len(library) > 1_000_000  # plotly.js itself, kept once


def test_a_retention_that_keeps_nothing_is_refused_when_the_project_opens(
        tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(
        "project: p\nenvironments:\n  dev: {lake: lake}\nmonitoring:\n  reports: {keep: 0}\n")
    with pytest.raises(ConfigError, match=r"monitoring\.reports\.keep"):
        Project.open(tmp_path)
