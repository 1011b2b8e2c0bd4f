"""The scheduler runs each due cron slot and each new lake version once, across restarts."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from shipyard.project import Project
from shipyard.scheduler import tick
from tests.e2e.cli import SHIPYARD, run
from tests.e2e.conftest import PROJECT_YAML, add_events

PIPELINE = '''
import pyarrow as pa
from shipyard.pipeline import Pipeline, step


def count(events: pa.Table) -> dict:
    return {"rows": events.num_rows}


def nightly() -> Pipeline:
    return Pipeline([step(count, inputs={"events": "clean.events"}, outputs="summary")])
'''

SCHEDULES = """\
pipelines:
  nightly:
    function: "jobs:nightly"
    schedule: "0 3 * * *"
  on_data:
    function: "jobs:nightly"
    on_new_data: true
"""


def project(events_project: Path) -> Path:
    (events_project / "jobs.py").write_text(PIPELINE)
    (events_project / "shipyard.yaml").write_text(PROJECT_YAML + SCHEDULES)
    run("ingest", cwd=events_project)
    return events_project


def test_each_slot_runs_once_even_across_restarts(events_project: Path) -> None:
    folder = project(events_project)
    night = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)
    first = tick(Project.open(folder), night)
    assert sorted((s.pipeline, s.trigger, s.status) for s in first) == [
        ("nightly", "cron", "succeeded"), ("on_data", "new_data", "succeeded")]
    assert first[0].slot == "2026-11-25T03:00:00+00:00"

    # A restarted scheduler (a new Project, same metadata DB) finds nothing due.
    assert tick(Project.open(folder), night.replace(hour=9)) == []

    # New data lands: only the new-data pipeline runs; the next night, only the cron one.
    add_events(folder, 100_000, 1000, seed=3)
    run("ingest", cwd=folder)
    again = tick(Project.open(folder), night.replace(hour=10))
    assert [(s.pipeline, s.trigger) for s in again] == [("on_data", "new_data")]
    next_night = tick(Project.open(folder), night.replace(day=26))
    assert [(s.pipeline, s.slot) for s in next_night] == [("nightly", "2026-11-26T03:00:00+00:00")]


def test_scheduler_command_reports_what_it_started(events_project: Path) -> None:
    folder = project(events_project)
    done = run("scheduler", "--once", cwd=folder)
    assert "started on_data (new_data clean.events@0)" in done.stdout
    assert "succeeded" in done.stdout
    again = run("scheduler", "--once", cwd=folder)
    assert "started on_data" not in again.stdout
    assert re.search(r"Nothing was due; next slot: nightly at \d{4}-\d\d-\d\d 03:00 UTC "
                     r"\(schedule '0 3 \* \* \*', in [\w ]+\)\.", " ".join(again.stdout.split()))


def test_a_waiting_scheduler_says_what_it_waits_for(events_project: Path) -> None:
    """Before, it was silent between ticks: nothing said whether it was alive or what next."""
    folder = project(events_project)
    environ = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen([*SHIPYARD, "scheduler", "--interval", "1"], cwd=folder, env=environ,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        try:
            assert process.stdout is not None
            lines = []
            for line in process.stdout:  # waits for each line; ends if the process does
                lines.append(line)
                if "waiting:" in line:
                    break
        finally:
            process.terminate()
    said = " ".join("".join(lines).split())
    assert re.search(r"waiting: next slot: nightly at \d{4}-\d\d-\d\d 03:00 UTC \(schedule "
                     r"'0 3 \* \* \*', in [\w ]+\); new data for on_data is looked for every "
                     r"1 s", said), said


BROKEN = '''
import pyarrow as pa
from shipyard.pipeline import Pipeline, step


def explode(events: pa.Table) -> dict:
    raise RuntimeError("the step broke")


def nightly() -> Pipeline:
    return Pipeline([step(explode, inputs={"events": "clean.events"}, outputs="summary")])
'''


def test_a_failed_run_is_recorded_as_failed_with_its_run(events_project: Path) -> None:
    folder = project(events_project)
    (folder / "jobs.py").write_text(BROKEN)
    [started] = [s for s in tick(Project.open(folder), datetime(2026, 11, 25, 3, 30, tzinfo=UTC))
                 if s.trigger == "cron"]
    assert started.status == "failed" and started.run_id is not None
    assert started.message is not None and "the step broke" in started.message
    shown = run("runs", "show", started.run_id, cwd=folder).stdout
    assert "failed" in shown and "explode" in shown
