"""``shipyard scheduler``: run due schedules and new-data triggers, each slot once.

Between ticks it says what it waits for (the next cron slot, and how often it looks for new
data): at start, after a tick that started runs, and when the next slot moves on.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli.console import console
from shipyard.cli.options import Env, ProjectDir
from shipyard.db import redact
from shipyard.project import Project
from shipyard.scheduler import Started, tick

if TYPE_CHECKING:
    from shipyard.scheduler import NextSlot

_STYLE = {"succeeded": "green", "failed": "red", "rejected": "yellow"}


def _report(started: list[Started]) -> None:
    for s in started:
        style = _STYLE.get(s.status, "")
        console.print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} started {s.pipeline} "
                      f"({s.trigger} {s.slot}): [{style}]{s.status}[/] run {s.run_id or '-'}"
                      + (f" — {s.message}" if s.message else ""))


def _span(left: timedelta) -> str:
    """``2 h 05 min``: how long until a slot, to the minute (seconds under a minute)."""
    seconds = max(0, int(left.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min" if minutes else f"{seconds} s"


def _waiting(project: Project, now: datetime,
             interval: float | None) -> tuple[NextSlot | None, str]:
    """(what changes it, sentence): the next cron slot, and how often new data is looked for
    (``interval`` None: not at all, the scheduler stops)."""
    from shipyard.scheduler import next_cron_slot

    slot = next_cron_slot(project, now)
    parts = []
    if slot is not None:
        parts.append(f"next slot: {slot.pipeline} at {slot.at:%Y-%m-%d %H:%M} UTC "
                     f"(schedule '{slot.schedule}', in {_span(slot.at - now)})")
    watched = [name for name, c in project.config.pipelines.items() if c.on_new_data]
    if watched and interval is not None:
        parts.append(f"new data for {', '.join(watched)} is looked for every {interval:g} s")
    return slot, "; ".join(parts)


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
    if project.config.monitoring.check_every:
        planned.append(f"rule checks (every {project.config.monitoring.check_every})")
    compact_every = project.config.compact_every()
    if compact_every:
        planned.append(f"log compaction (every {compact_every})")
    if not planned:
        console.print("No pipeline declares a schedule or on_new_data, monitoring.check_every "
                      "is not set and there are no logs to compact (no models, or "
                      "monitoring.compact_every: null); nothing to do.")
        return
    console.print(f"Scheduling {', '.join(planned)} in {project.root} ({env}); "
                  f"slots are recorded in {redact(project.metadata_url)}")
    announced: tuple[NextSlot | None] | None = None  # the slot last announced (None: nothing yet)
    while True:
        started = tick(project)
        _report(started)
        now = datetime.now(UTC)
        slot, waiting = _waiting(project, now, None if once else interval)
        if once:
            console.print(("Nothing was due" if not started else "Done") +
                          (f"; {waiting}." if waiting else "."))
            return
        if started or announced != (slot,):  # quiet while what it waits for holds
            console.print(f"{now:%Y-%m-%d %H:%M:%S} waiting: {waiting}")
            announced = (slot,)
        time.sleep(interval)
