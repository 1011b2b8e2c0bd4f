"""``shipyard quarantine``: review rejected batches and accept them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shipyard.cli.console import console, report_table
from shipyard.cli.options import Env, ProjectDir
from shipyard.errors import NotFoundError
from shipyard.hints import command
from shipyard.lake import quarantine as q
from shipyard.lake.batches import Batch
from shipyard.project import Project

app = typer.Typer(help="Batches rejected by validation, waiting for a person.",
                  no_args_is_help=True)

BatchId = Annotated[str, typer.Argument(
    metavar="ID", help="Batch id (see 'shipyard quarantine ls'), or 'latest': the newest one.")]


def _batch_id(project: Project, batch_id: str) -> int:
    """The batch ``batch_id`` names: a number, or ``latest`` so a README line can be pasted."""
    if batch_id == "latest":
        batches = q.quarantined(project)
        if not batches:
            raise NotFoundError("quarantine is empty: no batch is waiting for a person")
        return max(b.id for b in batches)
    if not batch_id.isdigit():
        raise typer.BadParameter(f"{batch_id!r} is neither a batch id nor 'latest'; see "
                                 "'shipyard quarantine ls'", param_hint="ID")
    return int(batch_id)


def _counts_as(project: Project, batch: Batch) -> str:
    """How the accepted ``batch`` counts in the reference of the batches after it."""
    if batch.role == "new_normal":
        return (f"Batch {batch.id} is the new normal of {batch.table_name}: later batches are "
                f"compared with it and those after it.")
    again = project.command('quarantine accept ID --reason "..." --as-new-normal')
    return (f"Batch {batch.id} counts as an exception: later batches of {batch.table_name} are "
            f"compared with the normal batches before it, not with it. If the data looks like "
            f"this from now on, accept the next rejected batch with '{again}'.")


@app.command("ls")
def ls(project_dir: ProjectDir = Path("."), env: Env = "dev") -> None:
    """Batches in quarantine."""
    project = Project.open(project_dir, env)
    batches = q.quarantined(project)
    if not batches:
        console.print("Quarantine is empty.")
        return
    table = Table(title=f"{len(batches)} batches in quarantine")
    for column in ("id", "table", "rows", "rejected at (UTC)", "why"):
        table.add_column(column, overflow="fold")
    for b in batches:
        when = f"{b.finished_at:%Y-%m-%d %H:%M:%S}" if b.finished_at else ""
        table.add_row(str(b.id), b.table_name, f"{b.rows or 0:,}", when, b.summary or "")
    console.print(table)
    accept = project.command('quarantine accept ID --reason "..."')
    console.print(f"Review one with '{project.command('quarantine show ID')}'; land it with "
                  f"'{accept}'.")


@app.command("show")
def show(batch_id: BatchId, project_dir: ProjectDir = Path("."), env: Env = "dev") -> None:
    """A batch's validation report, its data file and source query."""
    project = Project.open(project_dir, env)
    batch, report = q.show(project, _batch_id(project, batch_id))
    console.print(f"batch {batch.id} of {batch.table_name}: {batch.status}, "
                  f"{batch.rows or 0:,} rows")
    console.print(f"  data:   {batch.staged_path or '-'}")
    console.print(f"  report: {batch.report_path or '-'}")
    console.print(f"  query:  {batch.source_query}")
    if batch.accepted_by:
        console.print(f"  accepted by {batch.accepted_by}: {batch.accept_reason}")
    if report is not None:
        console.print(report_table(report))


@app.command("accept")
def accept(
    batch_id: BatchId,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why it is accepted (audited).")],
    as_new_normal: Annotated[bool, typer.Option(
        "--as-new-normal",
        help="This is how the data looks from now on: later batches are compared with it "
             "(default: an exception, left out of their reference).")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for a busy table.")] = 0.0,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Land a quarantined batch as if it had passed validation, with its whole ingest."""
    project = Project.open(project_dir, env)
    done = q.accept(project, _batch_id(project, batch_id), reason=reason, wait_s=wait,
                    as_new_normal=as_new_normal)
    b = done.batch
    if done.snapshot is None:
        waiting = ", ".join(f"{w.table_name} (batch {w.id})" for w in done.waiting)
        console.print(f"[yellow]Accepted[/] batch {b.id} of {b.table_name} by {b.accepted_by}, "
                      f"not landed yet: its ingest lands all of its tables or none, and "
                      f"{waiting} of it is still rejected. Accept or review it: "
                      f"'{command(f'quarantine show {done.waiting[0].id}', env)}'.")
        console.print(_counts_as(project, b))
        return
    console.print(f"[green]Accepted[/] batch {b.id} of {b.table_name} ({b.rows or 0:,} rows) "
                  f"by {b.accepted_by}; landed with its ingest in {project.lake_root}:")
    for landed in done.landed:
        how = "accepted" if landed.accepted_by else "held back with it"
        console.print(f"  {landed.table_name} (batch {landed.id}, {landed.rows or 0:,} rows, "
                      f"{how}) → raw version {landed.raw_version}, clean version "
                      f"{landed.clean_version}")
    for build in done.curated:
        if build.version is not None:
            console.print(f"  curated.{build.name} → version {build.version} "
                          f"({build.rows:,} rows)")
    console.print(f"Published as lake snapshot {done.snapshot.id}.")
    console.print(_counts_as(project, b))
