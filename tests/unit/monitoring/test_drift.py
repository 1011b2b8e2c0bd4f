"""Skew and drift over a real prediction log (the server's own writer, a Delta table), and the
report pages they leave."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from shipyard.config.schema import MonitoringSettings
from shipyard.errors import ConfigError, NotFoundError
from shipyard.monitoring import measure, write_report
from shipyard.monitoring.logged import LoggedPredictions
from shipyard.monitoring.window import Window, parse_duration, parse_since
from shipyard.serving.predlog import PredictionLog as LogWriter
from shipyard.state import FolderState
from shipyard.train.profile import build_profile

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
DAY = timedelta(days=1)
SIGNATURE = [("age", "double", True), ("sex", "string", True)]


def _rows(n: int, seed: int, age_shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.normal(30, 10, n) + age_shift,
                         "sex": rng.choice(["female", "male"], n)})


def _log(lake: Path, when: datetime, frame: pd.DataFrame, version: int = 1,
         per_file: int | None = None) -> None:
    """Append ``frame`` as served at ``when``, through the server's writer (its records carry
    the time they were queued; here it is set, to place rows in a window); with ``per_file``,
    one append (one file) per that many rows, as a server busy every second writes them."""
    writer = LogWriter(str(lake), None)
    rows = frame.to_dict("records")
    step = per_file or 500
    for start in range(0, len(rows), step):
        chunk = rows[start:start + step]
        writer.record("titanic", version, SIGNATURE, chunk, [0.5] * len(chunk), 1.0,
                      request_id=f"r{start}", when=when)
        if per_file:
            writer.flush()
    while not writer.queue.empty():
        writer.flush()


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    _log(tmp_path, NOW - 1.5 * DAY, _rows(2000, 1))                 # previous window
    _log(tmp_path, NOW - 0.5 * DAY, _rows(2000, 2, age_shift=10))   # current window
    return tmp_path


def test_a_shifted_column_is_skewed_and_drifted_and_the_stable_one_is_not(lake: Path) -> None:
    profile = build_profile(_rows(2000, 0), np.full(100, 0.5))
    seen: list[tuple[int, int]] = []
    report = measure(LoggedPredictions(str(lake), None, "titanic"), profile, 1,
                     Window.of(DAY, now=NOW), MonitoringSettings(),
                     progress=lambda done, total: seen.append((done, total)))
    verdicts = {(r.kind, r.column): r.test.drifted for r in report.results}
    assert verdicts == {("skew", "age"): True, ("skew", "sex"): False,
                        ("skew", "prediction"): False, ("drift", "age"): True,
                        ("drift", "sex"): False, ("drift", "prediction"): False}
    assert (report.rows, report.previous_rows, report.share("skew")) == (2000, 2000, 0.5)
    assert report.drifted and report.drifted_columns == ["age"]
    assert seen[-1] == (4000, 4000)  # progress reached the rows of both windows


def test_drift_is_not_checked_without_a_previous_window_and_other_versions_are_left_out(
        tmp_path: Path) -> None:
    _log(tmp_path, NOW - 0.5 * DAY, _rows(1000, 2), version=1)
    _log(tmp_path, NOW - 0.4 * DAY, _rows(1000, 3, age_shift=10), version=2)
    profile = build_profile(_rows(2000, 0), np.full(100, 0.5))
    report = measure(LoggedPredictions(str(tmp_path), None, "titanic"), profile, 1,
                     Window.of(DAY, now=NOW), MonitoringSettings())
    assert {r.kind for r in report.results} == {"skew"}
    assert not report.drifted  # version 2's shifted rows are not version 1's skew
    assert report.version_rows == 1000 and "previous window" in report.notes[0]


def test_the_report_is_json_and_an_offline_page_with_a_plot_per_column(lake: Path,
                                                                     tmp_path: Path) -> None:
    profile = build_profile(_rows(2000, 0), np.full(100, 0.5))
    report = measure(LoggedPredictions(str(lake), None, "titanic"), profile, 1,
                     Window.of(DAY, now=NOW), MonitoringSettings())
    where = SimpleNamespace(state=FolderState(tmp_path))  # all write_report needs of a project
    data, page = (Path(p) for p in write_report(where, report))  # type: ignore[arg-type]
    saved = json.loads(data.read_text())
    assert saved["verdict"]["columns"] == ["age"] and saved["verdict"]["skew"]["share"] == 0.5
    assert len(saved["results"]) == 6 and saved["results"][0]["bins"]["labels"]
    text = page.read_text()
    assert text.count("Plotly.newPlot(") == 6
    # The library is not inlined: one copy beside the models' folders, found offline.
    assert re.findall(r"<script[^>]*src=\"([^\"]+)\"", text) == ["../plotly.min.js"]
    assert "plotly.js v" in (page.parent / "../plotly.min.js").read_text()
    assert len(text) < 200_000  # 4.9 MB when each page carried its own copy


def test_an_empty_log_and_a_missing_log_are_errors_naming_the_fix(lake: Path,
                                                                  tmp_path: Path) -> None:
    old = Window.of(DAY, now=NOW - 30 * DAY)
    assert LoggedPredictions(str(lake), None, "titanic").newest_version(old) is None
    with pytest.raises(NotFoundError, match="shipyard serve"):
        LoggedPredictions(str(tmp_path / "nowhere"), None, "titanic").rows(old)


def test_windows_and_their_errors() -> None:
    assert parse_duration("7d") == timedelta(days=7) and parse_duration("30m").seconds == 1800
    assert parse_since("2026-11-20").tzinfo is UTC
    window = Window.of(DAY, since=parse_since("2026-11-20T08:00:00Z"))
    assert window.previous.end == window.start and window.end - window.start == DAY
    with pytest.raises(ConfigError, match="30m, 12h, 7d or 2w"):
        parse_duration("a week")
    with pytest.raises(ConfigError, match="ISO 8601"):
        parse_since("yesterday")


def test_a_log_of_many_small_files_is_read_as_one_file_and_only_the_windows_files(
        tmp_path: Path) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    for lake, per_file in ((small, 50), (large, None)):
        _log(lake, NOW - 3.5 * DAY, _rows(500, 9), per_file=per_file)    # outside both windows
        _log(lake, NOW - 1.5 * DAY, _rows(1000, 1), per_file=per_file)  # previous window
        _log(lake, NOW - 0.5 * DAY, _rows(1000, 2, age_shift=10), per_file=per_file)
    profile = build_profile(_rows(2000, 0), np.full(100, 0.5))
    window = Window.of(DAY, now=NOW)
    fragmented = LoggedPredictions(str(small), None, "titanic")
    assert fragmented.listed(window) == (1000, 20)
    assert len(list(fragmented.dataset(window).get_fragments())) == 20
    reports = [measure(LoggedPredictions(str(lake), None, "titanic"), profile, 1, window,
                       MonitoringSettings()) for lake in (small, large)]
    seen = [[(r.kind, r.column, r.current, r.reference, r.test.drifted) for r in report.results]
            for report in reports]
    assert seen[0] == seen[1]
    assert (reports[0].rows, reports[0].previous_rows) == (1000, 1000)
