"""``shipyard ingest``: the command shell over :func:`shipyard.lake.ingest`.

A rejected batch is the library's :class:`~shipyard.errors.DataRejected`: the shell shows its
result (the summary and the failed checks) and lets it through, so that it exits 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from shipyard.cli.console import console, err_console, report_table
from shipyard.cli.options import Env, ProjectDir
from shipyard.errors import DataRejected
from shipyard.lake.ingest import ingest as run_ingest
from shipyard.project import Project

_STATUS_STYLE = {"landed": "green", "rejected": "red", "unchanged": "dim", "empty": "dim",
                 "abandoned": "yellow", "held": "yellow"}
_STATUS_LABEL = {"abandoned": "not landed", "held": "held back", "empty": "no new rows"}


def ingest(
    tables: Annotated[list[str] | None, typer.Argument(help="Tables to ingest (default all).")]
    = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for a table another ingest holds.")]
    = 0.0,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Read new data from the sources, validate it, and land it in RAW, CLEAN and CURATED."""
    project = Project.open(project_dir, env)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=None),
        TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def task(name: str) -> TaskID:
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=None)
            return tasks[name]

        try:
            result = run_ingest(
                project,
                tables or None,
                wait_s=wait,
                on_rows=lambda name, n: progress.advance(task(name), n),
                on_phase=lambda name, phase: progress.update(task(name),
                                                             description=f"{name}: {phase}"),
                on_wait=lambda name, holder: err_console.print(
                    f"Waiting up to {wait:g} s for table {name!r}, held by {holder}."),
            )
        except DataRejected as rejected:
            result = rejected.result
            error: DataRejected | None = rejected
        else:
            error = None
    summary = Table(title=f"ingest of {project.config.project} ({env})")
    for column in ("table", "status", "rows", "batch", "new versions"):
        summary.add_column(column, justify="right" if column in ("rows", "batch") else "left")
    for o in result.outcomes:
        style = _STATUS_STYLE.get(o.status, "")
        b = o.batch
        landed = f"raw {b.raw_version} · clean {b.clean_version}" if o.status == "landed" else ""
        label = _STATUS_LABEL.get(o.status, o.status)
        summary.add_row(o.table, f"[{style}]{label}[/]", f"{b.rows or 0:,}", str(b.id), landed)
    for build in result.curated:
        rebuilt = build.version is not None
        summary.add_row(f"curated.{build.name}", "rebuilt" if rebuilt else "up to date",
                        f"{build.rows:,}" if rebuilt else "", "",
                        f"curated {build.version}" if rebuilt else "")
    console.print(summary)
    if error is not None:
        for outcome in result.rejected:
            assert outcome.report is not None
            console.print(report_table(outcome.report, failures_only=True))
            console.print(f"[red]Rejected[/] {outcome.table}: batch {outcome.batch.id} is in "
                          f"quarantine ({outcome.batch.staged_path}); full report: "
                          f"{outcome.batch.report_path}")
        raise error  # exit 3 (DataRejected), its message says what to do next
    snapshot = result.snapshot
    published = f"snapshot {snapshot.id}" if snapshot and snapshot.id is not None else "no snapshot"
    console.print(f"Lake: {project.lake_root} ({published})  ·  "
                  f"reports: {project.state.where('reports')}")
