"""``shipyard scheduler``: run due schedules and new-data triggers, each slot once."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli.console import console
from shipyard.cli.options import Env, ProjectDir
from shipyard.db import redact
from shipyard.project import Project
from shipyard.scheduler import Started, tick

_STYLE = {"succeeded": "green", "failed": "red", "rejected": "yellow"}


def _report(started: list[Started]) -> None:
    for s in started:
        style = _STYLE.get(s.status, "")
        console.print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} started {s.pipeline} "
                      f"({s.trigger} {s.slot}): [{style}]{s.status}[/] run {s.run_id or '-'}"
                      + (f" — {s.message}" if s.message else ""))


def scheduler(
    once: Annotated[bool, typer.Option(help="Run what is due now, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between checks.")] = 30.0,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Run pipelines whose cron slot is due or whose lake inputs have a new version."""
    project = Project.open(project_dir, env)
    planned = [
        f"{name} ({', '.join(filter(None, [c.schedule, 'on new data' if c.on_new_data else '']))})"
        for name, c in project.config.pipelines.items() if c.schedule or c.on_new_data
    ]
    if not planned:
        console.print("No pipeline declares a schedule or on_new_data; nothing to do.")
        return
    console.print(f"Scheduling {', '.join(planned)} in {project.root} ({env}); "
                  f"slots are recorded in {redact(project.metadata_url)}")
    while True:
        started = tick(project)
        _report(started)
        if once:
            if not started:
                console.print("Nothing was due.")
            return
        time.sleep(interval)
