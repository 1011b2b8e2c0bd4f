"""``shipyard runs``: list pipeline runs and show one in full (steps, lineage, metrics, errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shipyard.cli.console import console
from shipyard.cli.options import Env, ProjectDir
from shipyard.cli.run_tables import STATUS_STYLE, shown_url, step_table
from shipyard.project import Project
from shipyard.tracking.records import RunRecord, RunStore

app = typer.Typer(help="Pipeline runs: what ran, on which data and code, and why.",
                  no_args_is_help=True)


def _status(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, '')}]{status}[/]"


def _when(run: RunRecord) -> str:
    return f"{run.started_at:%Y-%m-%d %H:%M:%S}"


@app.command("ls")
def ls(
    pipeline: Annotated[str | None, typer.Option(help="Only runs of this pipeline.")] = None,
    limit: Annotated[int, typer.Option(help="How many runs to show.", min=1)] = 20,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Recent runs, newest first."""
    project = Project.open(project_dir, env)
    runs = RunStore.of(project).recent(limit=limit, pipeline=pipeline)
    if not runs:
        console.print(f"No runs yet in {env}; start one with '{project.command('run PIPELINE')}'.")
        return
    table = Table(title=f"runs of {project.config.project} ({env})")
    table.add_column("run", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("started UTC", no_wrap=True)
    table.add_column("took", justify="right", no_wrap=True)
    table.add_column("commit", no_wrap=True)
    table.add_column("flags")
    for run in runs:
        commit = (run.git_commit or "-")[:8] + ("+dirty" if run.git_dirty else "")
        flags = [f for f, on in (("smoke", run.smoke), (f"sample {run.sample}", run.sample),
                                 ("no-cache", run.no_cache),
                                 (f"resumes {run.resumed_from}", run.resumed_from)) if on]
        duration = f"{run.duration_s:.1f} s" if run.duration_s is not None else ""
        table.add_row(run.id, _status(run.status), f"{run.started_at:%m-%d %H:%M}", duration,
                      commit, ", ".join(flags))
    console.print(table)
    console.print(f"Details of one run: '{project.command('runs show RUN')}'.")


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="Run id, or 'latest'.")],
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """One run: steps and why each ran, params, metrics, data versions, code and errors."""
    project = Project.open(project_dir, env)
    run = RunStore.of(project).resolve(run_id)
    duration = (f"{run.duration_s:.2f} s" if run.duration_s is not None
                else f"still {run.status}? (a killed run is closed by the next run of "
                     f"{run.pipeline})")
    console.print(f"run {run.id} of {run.pipeline} ({run.env}): {_status(run.status)} · "
                  f"started {_when(run)} UTC · {duration} · executor {run.executor}"
                  + (f" · resumes {run.resumed_from}" if run.resumed_from else ""))
    dirty = {None: "", True: " (dirty: uncommitted changes)", False: " (clean)"}[run.git_dirty]
    console.print(f"  commit:   {run.git_commit or 'not a git repository'}{dirty}")
    console.print(f"  snapshot: {run.snapshot_path or '-'}")
    versions = ", ".join(f"{t}@{v}" for t, v in sorted(run.data_versions.items())) or "none"
    console.print(f"  data:     {versions}")
    params = ", ".join(f"{k}={v!r}" for k, v in sorted(run.params.items())) or "none"
    console.print(f"  params:   {params}")
    mode = [f for f, on in (("smoke", run.smoke), (f"sample {run.sample}", run.sample),
                            ("--no-cache", run.no_cache)) if on]
    if mode:
        console.print(f"  mode:     {', '.join(mode)}")
    console.print(f"  MLflow:   run {run.mlflow_run_id} at {shown_url(run.tracking_uri or '')}")
    from shipyard.pipeline.results import StepResult

    steps = [StepResult(name=s.step, status=s.status, duration_s=s.duration_s or 0.0,
                        reason=s.reason or "", fingerprint=s.fingerprint or "",
                        reused_from=s.reused_from, error=s.error) for s in run.steps]
    console.print(step_table(f"steps of {run.id}", steps))
    from shipyard.tracking.runs import run_metrics  # MLflow: only when a run is shown

    metrics = run_metrics(run)
    if metrics:
        table = Table(title="metrics (MLflow)")
        for column in ("run", "metric", "value"):
            table.add_column(column, justify="right" if column == "value" else "left")
        for label, values in metrics.items():
            for name, value in sorted(values.items()):
                table.add_row(label, name, f"{value:.6g}")
        console.print(table)
    if run.error:
        console.print(f"[red]error:[/] {run.error}")
        for s in run.steps:
            if s.traceback:
                console.print(f"[red]traceback of step {s.step}:[/]")
                console.print(s.traceback.rstrip(), markup=False, highlight=False)
        if run.status == "failed":
            resume = project.command(f"run {run.pipeline} --resume {run.id}")
            console.print(f"Resume after a fix: '{resume}'")
