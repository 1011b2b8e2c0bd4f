"""Resuming a run, and closing the records of runs whose process died.

A failed run resumes by running again with its parameters and data versions: its finished
steps are found in the cache. A run whose process died (SIGKILL, power loss) is recorded as
failed by the next run of its pipeline, and the hooks close what it left open elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.errors import ResumeRefused
from shipyard.hints import command
from shipyard.pipeline.hooks import Hooks
from shipyard.pipeline.loader import check_param_inputs, resolve_params
from shipyard.pipeline.planning import RunSettings, data_versions
from shipyard.pipeline.provenance import process_alive
from shipyard.tracking.records import UNFINISHED, RunRecord, RunStore

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shipyard.pipeline.dag import Pipeline
    from shipyard.project import Project

__all__ = ["close_open_steps", "mark_interrupted", "recover_abandoned", "settings"]


def settings(project: Project, runs: RunStore, pipeline: str, built: Pipeline,
             declared: dict[str, Any], overrides: dict[str, Any] | None,
             sample: float | None, smoke: bool, resume: str | None,
             hooks: Sequence[Any] = ()) -> RunSettings:
    """The settings of a new run, or those of run ``resume`` when it may be resumed."""
    from shipyard.lake.tables import DeltaStore

    lake = DeltaStore.of(project)
    if resume is None:
        values = resolve_params(pipeline, declared, overrides)
        check_param_inputs(pipeline, built, values)
        return RunSettings(values, data_versions(built, lake, {}), smoke, sample, None)
    if overrides or sample is not None or smoke:
        raise ResumeRefused(f"--resume {resume} repeats that run's params, sample and smoke "
                            f"settings; drop --params/--sample/--smoke, or start a new run")
    previous = runs.get(resume)
    if previous.pipeline != pipeline:
        raise ResumeRefused(f"run {resume} is a run of pipeline {previous.pipeline!r}, not "
                            f"{pipeline!r}; use "
                            f"'{project.command(f'run {previous.pipeline} --resume {resume}')}'")
    if previous.status == "succeeded":
        raise ResumeRefused(f"run {resume} succeeded; there is nothing to resume. Run "
                            f"'{project.command(f'run {pipeline}')}' (unchanged steps are "
                            f"reused anyway)")
    if previous.status in UNFINISHED:
        alive = process_alive(previous.host, previous.pid)
        if alive:
            raise ResumeRefused(f"run {resume} is still {previous.status} (pid "
                                f"{previous.pid}); wait for it to end or stop it before "
                                f"resuming")
        mark_interrupted(runs, previous, hooks)
    check_param_inputs(pipeline, built, previous.params)
    versions = data_versions(built, lake, previous.data_versions)
    return RunSettings(previous.params, versions, previous.smoke, previous.sample, previous)


def recover_abandoned(runs: RunStore, pipeline: str, hooks: Sequence[Any] = ()) -> None:
    """Mark the runs of ``pipeline`` whose process died (SIGKILL, power loss) as failed.

    Done when the next run of the pipeline starts, not by every command that reads records:
    the run that follows is the one that can finish what the dead one left (its cached
    steps, its unfinished registration), and a read-only command should not write. A run on
    another host cannot be checked from here and is left alone.
    """
    for record in runs.unfinished(pipeline):
        if process_alive(record.host, record.pid) is False:
            mark_interrupted(runs, record, hooks)


def mark_interrupted(runs: RunStore, previous: RunRecord, hooks: Sequence[Any] = ()) -> None:
    """Record that a run's process died before it could say so; hooks close the rest
    (``run_abandoned``: the tracker closes its MLflow runs)."""
    note = (f"interrupted: process {previous.pid} on {previous.host} ended without "
            f"finishing the run")
    if previous.status == "registering":
        note += (f" (its steps were done; its models' registration is finished by the next "
                 f"'{command(f'run {previous.pipeline}', runs.env)}')")
    runs.finish(previous.id, "failed", previous.started_at, error=note)
    close_open_steps(runs, previous, note)
    Hooks(hooks).call("run_abandoned", previous)


def close_open_steps(runs: RunStore, record: RunRecord, note: str) -> None:
    """Running steps of an ended run failed with ``note``; pending ones never ran."""
    for s in record.steps:
        if s.status == "running":
            runs.update_step(record.id, s.step, status="failed", error=note)
        elif s.status == "pending":
            runs.update_step(record.id, s.step, status="skipped", reason=f"not run: {note}")
