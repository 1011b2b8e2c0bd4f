"""``shipyard run PIPELINE``: the command shell over the runner with the project's hooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from shipyard.cli.console import console
from shipyard.cli.models import print_registered
from shipyard.cli.options import Env, ProjectDir
from shipyard.cli.run_tables import STATUS_STYLE, duration, shown_url, step_table
from shipyard.pipeline.hooks import RunObserver
from shipyard.pipeline.results import StepResult
from shipyard.project import Project
from shipyard.runs import run_pipeline

__all__ = ["parse_params", "run"]

def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """``["seed=3", "test_size=0.3"]`` → ``{"seed": "3", "test_size": "0.3"}``."""
    params: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--params")
        params[key.strip()] = value
    return params


class _ProgressLines(RunObserver):
    """One Rich progress line per step: reused at once, or spinning while it runs."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}
        self.run_id: str | None = None
        self.steps: dict[str, StepResult] = {}

    def run_started(self, run_id: str, plan: list[StepResult]) -> None:
        self.run_id = run_id
        for s in plan:
            self.steps[s.name] = s
            label = f"[cyan]reused[/] {s.name}" if s.status == "reused" else f"[dim]{s.name}[/]"
            self.tasks[s.name] = self.progress.add_task(label, total=1,
                                                        completed=s.status == "reused")
            if s.status == "reused":
                self.progress.stop_task(self.tasks[s.name])

    def step_started(self, name: str) -> None:
        self.progress.update(self.tasks[name], description=f"[yellow]running[/] {name}")
        self.progress.start_task(self.tasks[name])

    def step_finished(self, result: StepResult) -> None:
        self.steps[result.name] = result
        style = STATUS_STYLE.get(result.status, "")
        self.progress.update(self.tasks[result.name], completed=1,
                             description=f"[{style}]{result.status}[/] {result.name}")
        self.progress.stop_task(self.tasks[result.name])


def run(
    pipeline: Annotated[str, typer.Argument(help="Pipeline name declared in shipyard.yaml.")],
    params: Annotated[list[str] | None, typer.Option(
        "--params", help="Override a parameter: KEY=VALUE (repeat for more).")] = None,
    sample: Annotated[float | None, typer.Option(
        help="Read this fraction of every lake input (seeded).", min=0.0, max=1.0)] = None,
    smoke: Annotated[bool, typer.Option(
        "--smoke", help="Smoke run: one tuning trial, register nothing.")] = False,
    resume: Annotated[str | None, typer.Option(
        help="Repeat a failed or killed run (same params and data), reusing its done steps.",
        metavar="RUN")] = None,
    executor: Annotated[str | None, typer.Option(
        help="local or dask (default: the pipeline's 'executor').")] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Run every step even if a result for it is cached.")] = False,
    run_id: Annotated[str | None, typer.Option(
        "--run-id", hidden=True, help="Record the run under this id (the server chose it).")
    ] = None,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Run a pipeline: unchanged steps are reused, the rest runs and everything is recorded."""
    if executor is not None and executor not in ("local", "dask"):
        raise typer.BadParameter(f"unknown executor {executor!r}; expected local or dask",
                                 param_hint="--executor")
    overrides = parse_params(params)
    project = Project.open(project_dir, env)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                        console=console, transient=True)
    lines = _ProgressLines(progress)
    try:
        with progress:
            result = run_pipeline(project, pipeline, params=overrides, sample=sample,
                                  smoke=smoke, resume=resume, executor=executor,
                                  no_cache=no_cache, hooks=[lines], run_id=run_id)
    finally:
        if lines.run_id is not None:
            console.print(step_table(f"run {lines.run_id} of {pipeline} ({env})",
                                     list(lines.steps.values())))
    ran = sum(s.status == "succeeded" for s in result.steps)
    reused = sum(s.status == "reused" for s in result.steps)
    console.print(f"[green]Run {result.run_id} succeeded[/] in {duration(result.duration_s)}: "
                  f"{ran} step(s) ran, {reused} reused"
                  + (" (smoke run: nothing registered)" if result.smoke else ""))
    console.print(f"  run record: {shown_url(project.metadata_url)}")
    console.print(f"  MLflow run: {result.tracking_run_id} at {shown_url(result.tracking_uri)}")
    console.print(f"  details: {project.command(f'runs show {result.run_id}')}")
    for outcome in result.registered:
        print_registered(project, outcome)
