"""Run a pipeline: plan from cache keys, execute what changed, record everything.

A run is planned whole before anything executes: every step's cache key comes from its code,
parameters, the keys of its upstream steps and the lake versions it reads, so which steps are
reused, which re-run and *why* is decided (and recorded) up front. Steps that must run go to the
executor as soon as their inputs exist; each result is recorded in the metadata database and
as a nested MLflow run the moment it arrives. A failed run resumes by re-running with the same
parameters and data versions: its finished steps are found in the cache.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import ModelRejected, PipelineError, ShipyardError, StepFailed
from shipyard.pipeline.artifacts import load_value
from shipyard.pipeline.cache import CachedResult, CacheKey, ResultStore, decode_key, explain
from shipyard.pipeline.dag import Pipeline
from shipyard.pipeline.executors import (
    EXECUTORS,
    Executor,
    StepTask,
    TaskResult,
    create_executor,
)
from shipyard.pipeline.executors.base import ContextSpec, Input
from shipyard.pipeline.fingerprint import CodeHasher
from shipyard.pipeline.loader import (
    check_param_inputs,
    load_pipeline,
    pipeline_config,
    resolve_params,
)
from shipyard.pipeline.provenance import environment, git_state, process_alive, snapshot_code
from shipyard.pipeline.records import UNFINISHED, RunInfo, RunRecord, RunStore, RunTracker
from shipyard.pipeline.step import Step
from shipyard.redact import redact_url, redact_value

if TYPE_CHECKING:
    from shipyard.config.schema import TuningConfig
    from shipyard.lake.tables import DeltaStore
    from shipyard.project import Project
    from shipyard.registry.flow import Registered
    from shipyard.train.trained import TrainedModel

__all__ = ["RunObserver", "RunResult", "StepResult", "mark_interrupted", "run_pipeline"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepResult:
    """How one step of a run went.

    Attributes:
        name: Step name.
        status: ``succeeded``, ``reused``, ``failed``, ``skipped`` (a step before it failed),
            or ``pending`` in the plan announced when the run starts.
        duration_s: Time the step took in this run (0 when reused).
        reason: Why it ran ("code of prepare changed") or "reused from run R".
        fingerprint: The step's cache key hash; names its result folder.
        folder: The result folder (outputs and manifest), when there is one.
        outputs: Output name → path of its file or folder.
        reused_from: The run that made the reused result.
        error: ``Type: message`` of a failed step.
        traceback: Its traceback.
    """

    name: str
    status: str
    duration_s: float
    reason: str
    fingerprint: str
    folder: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    reused_from: str | None = None
    error: str | None = None
    traceback: str | None = None


@dataclass(frozen=True)
class RunResult:
    """What a finished run did and where it is recorded; :meth:`load` reads an output back."""

    run_id: str
    pipeline: str
    status: str
    duration_s: float
    steps: tuple[StepResult, ...]
    params: dict[str, Any]
    data_versions: dict[str, int]
    mlflow_run_id: str | None
    tracking_uri: str
    git_commit: str | None
    git_dirty: bool | None
    snapshot_path: str
    smoke: bool
    sample: float | None
    registered: list[Registered] = field(default_factory=list)
    """Models handed to the registry by this run, filled in after the run succeeded."""

    def step(self, name: str) -> StepResult:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def load(self, output: str) -> Any:
        """The value of step output ``output``, read from the artifact store."""
        for s in self.steps:
            if output in s.outputs and s.folder:
                found = ResultStore(Path(s.folder).parent).lookup(Path(s.folder).name)
                if found is not None:
                    return load_value(found.outputs[output], found.folder)
        raise PipelineError(f"run {self.run_id} has no stored output {output!r}")


class RunObserver:
    """Hooks a shell (the CLI's progress lines, a server) implements to follow a run."""

    def run_started(self, run_id: str, plan: list[StepResult]) -> None:
        """The run is recorded; ``plan`` has every step as ``reused`` or ``pending``."""

    def step_started(self, name: str) -> None:
        """A step was handed to the executor."""

    def step_finished(self, result: StepResult) -> None:
        """A step ended (succeeded, failed or was skipped)."""


@dataclass
class _Planned:
    step: Step
    key: CacheKey
    fingerprint: str
    reason: str
    cached: CachedResult | None
    result: StepResult | None = None


@dataclass(frozen=True)
class _Settings:
    """What a run is made of, fixed before it starts (from the CLI or from the resumed run)."""

    params: dict[str, Any]
    data_versions: dict[str, int]
    smoke: bool
    sample: float | None
    resumed: RunRecord | None


def _now() -> datetime:
    return datetime.now(UTC)


def run_pipeline(
    project: Project,
    pipeline: str,
    *,
    params: dict[str, Any] | None = None,
    sample: float | None = None,
    smoke: bool = False,
    resume: str | None = None,
    executor: str | None = None,
    no_cache: bool = False,
    observer: RunObserver | None = None,
    run_id: str | None = None,
) -> RunResult:
    """Run pipeline ``pipeline`` of ``project``, reusing every step whose inputs are unchanged.

    Args:
        project: The open project (its environment decides the stores).
        pipeline: A name declared under ``pipelines:`` in shipyard.yaml.
        params: Overrides of the declared parameters; strings are converted to the type of
            the declared default ("0.3" for a float).
        sample: Read this fraction of every lake input (seeded, so repeatable).
        smoke: Smoke mode: steps see ``ctx.smoke``, tuning runs one trial, nothing is
            registered.
        resume: Id of a failed (or killed) run to repeat with its parameters and data
            versions; its finished steps are reused from the cache.
        executor: ``local`` or ``dask``; default from the pipeline's declaration.
        no_cache: Run every step even if a result for its key exists.
        observer: Receives progress events.
        run_id: The id to record the run under, when the caller (the server) has to know
            it before the run starts; taken by another run, it is an error, never redrawn.

    Returns:
        The :class:`RunResult` of a succeeded run.

    Raises:
        PipelineError: Unknown pipeline, bad parameter, bad graph, missing lake table.
        StepFailed: A step raised; the run is recorded as failed with the step's traceback.
        ModelRejected: A trained model failed its gate (the run itself succeeded).
    """
    observer = observer or RunObserver()
    config = pipeline_config(project, pipeline)
    runs = RunStore(project.metadata_engine)
    _recover_abandoned(project, runs, pipeline)
    if sample is not None and not 0 < sample <= 1:
        raise PipelineError(f"--sample must be a fraction in (0, 1], got {sample}")
    executor_name = executor or config.executor
    if executor_name not in EXECUTORS:
        raise PipelineError(f"unknown executor {executor_name!r}; expected one of "
                            f"{', '.join(EXECUTORS)}")
    started = _now()
    given_id = run_id is not None
    run_id = run_id or runs.new_run_id(pipeline, started)
    built = load_pipeline(project, pipeline, token=run_id)
    settings = _settings(project, runs, pipeline, built, config.params, params, sample, smoke,
                         resume)
    tuning = config.tuning
    if tuning is not None and settings.smoke:
        tuning = tuning.model_copy(update={"trials": 1})
    results = ResultStore(_artifacts_root(project))
    plan = _plan(project, built, settings, tuning, runs, results, pipeline, no_cache, run_id)
    git = git_state(project.root)
    tracker = _open_tracker(project)
    resumed_from = settings.resumed.id if settings.resumed else None
    run_id = runs.start(
        keep_id=given_id,
        id=run_id, pipeline=pipeline, started_at=started, params=settings.params,
        executor=executor_name, env=project.env_name, git_commit=git.commit,
        git_dirty=git.dirty, data_versions=settings.data_versions, smoke=settings.smoke,
        sample=settings.sample, no_cache=no_cache, resumed_from=resumed_from,
        tracking_uri=project.tracking_uri, environment=environment(),
        host=socket.gethostname(), pid=os.getpid(), run_by=project.user)
    try:
        runs.add_steps(run_id, [_step_row(i, p) for i, p in enumerate(plan)])
        mlflow_run_id = tracker.start_run(
            run_id, pipeline=pipeline, params=settings.params,
            data_versions=settings.data_versions, git=git, smoke=settings.smoke,
            sample=settings.sample, executor=executor_name, resumed_from=resumed_from)
        snapshot = snapshot_code(project.root,
                                 project.state_dir / "snapshots" / f"{run_id}.tar.gz",
                                 exclude=[project.state_dir, Path(project.lake_root)])
        runs.update(run_id, mlflow_run_id=mlflow_run_id, snapshot_path=str(snapshot))
        tracker.log_snapshot(snapshot)
        observer.run_started(run_id, [_planned_result(p) for p in plan])
        spec = ContextSpec(run_id=run_id, pipeline=pipeline, env=project.env_name,
                           params=settings.params, smoke=settings.smoke,
                           sample=settings.sample,
                           tuning=tuning.model_dump() if tuning else None,
                           mlflow_run_id=mlflow_run_id, tracking_uri=project.tracking_uri,
                           experiment_id=tracker.experiment_id,
                           data_versions=settings.data_versions)
        failed = _execute(project, built, plan, spec, runs, tracker, observer,
                          create_executor(executor_name, project, pipeline, config),
                          settings.sample)
    except BaseException as error:
        # Interrupted (Ctrl-C) or broken outside any step: the record must not stay "running".
        note = f"{type(error).__name__}: {error}"
        runs.finish(run_id, "failed", started, error=note, traceback=traceback.format_exc())
        _close_open_steps(runs, runs.get(run_id), note)
        if tracker.run_id is not None:
            tracker.end_run("KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED")
        raise
    status = "failed" if failed else "succeeded"
    result = RunResult(
        run_id=run_id, pipeline=pipeline, status=status,
        duration_s=(_now() - started).total_seconds(),
        steps=tuple(p.result or _planned_result(p) for p in plan), params=settings.params,
        data_versions=settings.data_versions, mlflow_run_id=mlflow_run_id,
        tracking_uri=project.tracking_uri, git_commit=git.commit, git_dirty=git.dirty,
        snapshot_path=str(snapshot), smoke=settings.smoke, sample=settings.sample)
    if failed:
        runs.finish(run_id, "failed", started, error=failed.error, traceback=failed.traceback)
        tracker.end_run("FAILED")
        _alert_failure(project, result, failed)
        failure = StepFailed(f"step {failed.name!r} failed in run {run_id}: {failed.error}. "
                             f"Traceback: 'shipyard runs show {run_id}'; after a fix, "
                             f"'shipyard run {pipeline} --resume {run_id}'")
        failure.run_id = run_id  # type: ignore[attr-defined]
        failure.result = result  # type: ignore[attr-defined]
        raise failure
    models = [] if settings.smoke else _models_to_register(project, plan)
    if models:
        _register(project, runs, tracker, models, result, started)
    runs.finish(run_id, "succeeded", started)
    tracker.end_run("FINISHED")
    return result


def _register(project: Project, runs: RunStore, tracker: RunTracker,
              models: list[TrainedModel], result: RunResult, started: datetime) -> None:
    """Hand the run's models to the registry while the record says ``registering``.

    The run is not done until its models are gated: killed here, the record stays
    ``registering`` (and its MLflow run open) until the next run of the pipeline marks it
    interrupted and finishes the registration. Every model is registered even when an
    earlier one is rejected; the first rejection is raised after the run is recorded as
    succeeded (a rejection is a finished registration). Any other error fails the run, so
    ``--resume`` (or a rerun) registers the models again.
    """
    from shipyard.registry.flow import register_trained

    runs.update(result.run_id, status="registering")
    info = RunInfo(run_id=result.run_id, pipeline=result.pipeline,
                   mlflow_run_id=result.mlflow_run_id, git_commit=result.git_commit,
                   git_dirty=result.git_dirty, data_versions=dict(result.data_versions),
                   params=dict(result.params), smoke=result.smoke)
    rejected: list[ModelRejected] = []
    try:
        for model in models:
            try:
                result.registered.append(register_trained(project, model, info))
            except ModelRejected as error:
                rejected.append(error)
    except BaseException as error:
        note = f"registration failed: {type(error).__name__}: {error}"
        runs.finish(result.run_id, "failed", started, error=note,
                    traceback=traceback.format_exc())
        tracker.end_run("KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED")
        raise
    if rejected:
        runs.finish(result.run_id, "succeeded", started)
        tracker.end_run("FINISHED")
        raise rejected[0]


def _settings(project: Project, runs: RunStore, pipeline: str, built: Pipeline,
              declared: dict[str, Any], overrides: dict[str, Any] | None,
              sample: float | None, smoke: bool, resume: str | None) -> _Settings:
    from shipyard.lake.tables import DeltaStore

    lake = DeltaStore(project.lake_root, storage_options=project.storage_options)
    if resume is None:
        values = resolve_params(pipeline, declared, overrides)
        check_param_inputs(pipeline, built, values)
        return _Settings(values, _data_versions(built, lake, {}), smoke, sample, None)
    if overrides or sample is not None or smoke:
        raise PipelineError(f"--resume {resume} repeats that run's params, sample and smoke "
                            f"settings; drop --params/--sample/--smoke, or start a new run")
    previous = runs.get(resume)
    if previous.pipeline != pipeline:
        raise PipelineError(f"run {resume} is a run of pipeline {previous.pipeline!r}, not "
                            f"{pipeline!r}; use 'shipyard run {previous.pipeline} --resume "
                            f"{resume}'")
    if previous.status == "succeeded":
        raise PipelineError(f"run {resume} succeeded; there is nothing to resume. Run "
                            f"'shipyard run {pipeline}' (unchanged steps are reused anyway)")
    if previous.status in UNFINISHED:
        alive = process_alive(previous.host, previous.pid)
        if alive:
            raise PipelineError(f"run {resume} is still {previous.status} (pid "
                                f"{previous.pid}); wait for it to end or stop it before "
                                f"resuming")
        mark_interrupted(project, runs, previous)
    check_param_inputs(pipeline, built, previous.params)
    versions = _data_versions(built, lake, previous.data_versions)
    return _Settings(previous.params, versions, previous.smoke, previous.sample, previous)


def _recover_abandoned(project: Project, runs: RunStore, pipeline: str) -> None:
    """Mark the runs of ``pipeline`` whose process died (SIGKILL, power loss) as failed.

    Done when the next run of the pipeline starts, not by every command that reads records:
    the run that follows is the one that can finish what the dead one left (its cached
    steps, its unfinished registration), and a read-only command should not write. A run on
    another host cannot be checked from here and is left alone.
    """
    for record in runs.unfinished(pipeline):
        if process_alive(record.host, record.pid) is False:
            mark_interrupted(project, runs, record)


def mark_interrupted(project: Project, runs: RunStore, previous: RunRecord) -> None:
    """Record that a run's process died before it could say so; close its MLflow runs."""
    note = (f"interrupted: process {previous.pid} on {previous.host} ended without "
            f"finishing the run")
    if previous.status == "registering":
        note += (f" (its steps were done; its models' registration is finished by the next "
                 f"'shipyard run {previous.pipeline}')")
    runs.finish(previous.id, "failed", previous.started_at, error=note)
    _close_open_steps(runs, previous, note)
    if previous.mlflow_run_id:
        RunTracker.mark_killed(project.tracking_uri, previous.mlflow_run_id)


def _close_open_steps(runs: RunStore, record: RunRecord, note: str) -> None:
    """Running steps of an ended run failed with ``note``; pending ones never ran."""
    for s in record.steps:
        if s.status == "running":
            runs.update_step(record.id, s.step, status="failed", error=note)
        elif s.status == "pending":
            runs.update_step(record.id, s.step, status="skipped", reason=f"not run: {note}")


def _open_tracker(project: Project) -> RunTracker:
    """The MLflow side of the run; an unreachable tracking store fails before anything runs."""
    try:
        return RunTracker(project)
    except ShipyardError:
        raise
    except Exception as error:  # MLflow raises many kinds; all mean the same here
        raise ShipyardError(
            f"cannot record the run in MLflow at {redact_url(project.tracking_uri)}: {error}. "
            f"Check environments.{project.env_name}.tracking_uri in shipyard.yaml and that the "
            f"tracking server is up."
        ) from error


def _table_key(name: str, version: int, versions: dict[str, int]) -> str:
    return name if versions.get(name, version) == version else f"{name}@{version}"


SNAPSHOT_KEY = "snapshot"
"""Key of ``data_versions`` holding the lake snapshot a run read (lake names are layer.table)."""


def _data_versions(built: Pipeline, lake: DeltaStore, pinned: dict[str, int]) -> dict[str, int]:
    """Resolve each lake input to a version number, once, at run start.

    "Latest" means the version in the lake's current snapshot, so a run never reads half of an
    interrupted ingest, and its data version is that one snapshot id (kept under
    ``SNAPSHOT_KEY`` beside the per-table versions). ``pinned`` (the versions of a resumed run)
    wins over the snapshot, so a resumed run reads what the failed one read even if new data
    landed in between.
    """
    from shipyard.lake.snapshots import Snapshots

    snapshots = Snapshots(lake)
    snapshot = (snapshots.get(pinned[SNAPSHOT_KEY]) if SNAPSHOT_KEY in pinned
                else snapshots.current())
    versions: dict[str, int] = {}
    for s in built.steps:
        for source in s.inputs.values():
            if source.kind != "lake":
                continue
            layer, table = source.layer, source.table
            if source.version is not None:
                lake.open(layer, table, source.version)  # fails clearly if it does not exist
                version = source.version
            elif source.name in pinned:
                version = pinned[source.name]
            else:
                found = snapshot.version(layer, table)
                if found is None:
                    lake.open(layer, table)  # a table never ingested: says what to do
                    raise PipelineError(
                        f"{source.name} is not in the lake's snapshot {snapshot.id}: an ingest "
                        f"of {table} was interrupted; run 'shipyard ingest {table}'")
                version = found
            versions[_table_key(source.name, version, versions)] = version
    if versions and snapshot.id is not None:
        versions[SNAPSHOT_KEY] = snapshot.id
    return versions


def _version_of(source_name: str, pinned: int | None, versions: dict[str, int]) -> int:
    if pinned is not None:
        return pinned
    return versions[source_name]


def _plan(project: Project, built: Pipeline, settings: _Settings, tuning: TuningConfig | None,
          runs: RunStore, results: ResultStore, pipeline: str, no_cache: bool,
          run_id: str) -> list[_Planned]:
    hasher = CodeHasher(project.root)
    previous = runs.previous_keys(pipeline, [s.name for s in built.steps])
    fingerprints: dict[str, str] = {}
    sampled = f"~{settings.sample}" if settings.sample is not None else ""
    run_settings = {"smoke": settings.smoke, "sample": settings.sample,
                    "tuning": redact_value(tuning.model_dump()) if tuning else None}
    plan = []
    for s in built.steps:
        params: dict[str, Any] = {}
        inputs: dict[str, str] = {}
        data: dict[str, str] = {}
        run: dict[str, Any] = {}
        for source in s.inputs.values():
            if source.kind == "param":
                params[source.name] = settings.params[source.name]
            elif source.kind in ("params", "context"):
                params.update(settings.params)
                if source.kind == "context":
                    run = run_settings
            elif source.kind == "output":
                inputs[source.name] = fingerprints[built.outputs[source.name].name]
            else:
                version = _version_of(source.name, source.version, settings.data_versions)
                data[_table_key(source.name, version, settings.data_versions)] = (
                    f"{version}{sampled}")
        if not s.cache:  # a key of its own each run: never reused, nor is what it feeds
            run = {**run, "uncached_run": run_id}
        key = CacheKey(step=s.name, code=hasher.manifest(s.func), params=params, inputs=inputs,
                       data=data, run=run, outputs=s.outputs)
        fingerprint = fingerprints[s.name] = key.fingerprint
        cached = None if no_cache or not s.cache else results.lookup(fingerprint)
        if cached is not None:
            reason = f"reused from run {cached.run_id}"
        elif no_cache:
            reason = "--no-cache"
        elif not s.cache:
            reason = "runs every time (cache=False)"
        else:
            before = previous.get(s.name)
            reason = explain(key, decode_key(before) if before else None)
        plan.append(_Planned(s, key, fingerprint, reason, cached))
    return plan


def _planned_result(p: _Planned) -> StepResult:
    if p.cached is not None:
        return StepResult(name=p.step.name, status="reused", duration_s=0.0, reason=p.reason,
                          fingerprint=p.fingerprint, folder=str(p.cached.folder),
                          outputs={o: str(p.cached.path(o)) for o in p.cached.outputs},
                          reused_from=p.cached.run_id)
    return StepResult(name=p.step.name, status="pending", duration_s=0.0, reason=p.reason,
                      fingerprint=p.fingerprint)


def _step_row(position: int, p: _Planned) -> dict[str, Any]:
    planned = _planned_result(p)
    return {"position": position, "step": p.step.name, "status": planned.status,
            "fingerprint": p.fingerprint, "cache_key": p.key.encode(), "reason": p.reason,
            "reused_from": planned.reused_from, "outputs": planned.outputs or None,
            "duration_s": 0.0 if p.cached else None}


def _function_ref(func: Any) -> tuple[str, str, bytes | None]:
    """How a worker finds the step: by module and name, or by value when it has no name."""
    module = getattr(func, "__module__", None) or "__main__"
    qualname = getattr(func, "__qualname__", "")
    if "<" in qualname or not qualname or module == "__main__":
        import cloudpickle

        return module, qualname, cloudpickle.dumps(func)
    return module, qualname, None


def _task(project: Project, p: _Planned, spec: ContextSpec, folders: dict[str, str],
          built: Pipeline, sample: float | None) -> StepTask:
    arguments: dict[str, Input] = {}
    for argument, source in p.step.inputs.items():
        if source.kind == "param":
            arguments[argument] = Input("value", value=spec.params[source.name])
        elif source.kind == "params":
            arguments[argument] = Input("value", value=dict(spec.params))
        elif source.kind == "context":
            arguments[argument] = Input("context")
        elif source.kind == "output":
            producer = built.outputs[source.name].name
            arguments[argument] = Input("artifact", folder=folders[producer],
                                        output=source.name)
        else:
            version = _version_of(source.name, source.version, spec.data_versions)
            arguments[argument] = Input("lake", table=source.name, version=version)
    module, qualname, pickled = _function_ref(p.step.func)
    return StepTask(
        run_id=spec.run_id, step=p.step.name, module=module, qualname=qualname,
        root=str(project.root), env=project.env_name, arguments=arguments,
        outputs=p.step.outputs, unpack=p.step.unpack, fingerprint=p.fingerprint,
        key=p.key.encode(), artifacts_root=str(_artifacts_root(project)),
        lake_root=project.lake_root, storage_options=project.storage_options, sample=sample,
        context=spec if "context" in {s.kind for s in p.step.inputs.values()} else None,
        pickled=pickled, func=p.step.func)


def _execute(project: Project, built: Pipeline, plan: list[_Planned], spec: ContextSpec,
             runs: RunStore, tracker: RunTracker, observer: RunObserver, executor: Executor,
             sample: float | None) -> StepResult | None:
    """Run the steps without a cached result; returns the first failed step, if any.

    The executor is started only when something has to run, so a fully cached run never
    starts a cluster.
    """
    folders = {p.step.name: str(p.cached.folder) for p in plan if p.cached is not None}
    waiting = [p for p in plan if p.cached is None]
    for p in plan:
        if p.cached is not None:
            p.result = _planned_result(p)
    if not waiting:
        return None
    failed: StepResult | None = None
    inflight: dict[int, tuple[Any, _Planned]] = {}
    with executor:
        while waiting or inflight:
            for p in list(waiting):
                if failed is not None or len(inflight) >= executor.slots:
                    break
                if all(u.name in folders for u in built.upstream(p.step)):
                    runs.update_step(spec.run_id, p.step.name, status="running",
                                     started_at=_now())
                    observer.step_started(p.step.name)
                    handle = executor.submit(_task(project, p, spec, folders, built, sample))
                    inflight[id(handle)] = (handle, p)
                    waiting.remove(p)
            if not inflight:
                break
            for handle, outcome in executor.wait([h for h, _ in inflight.values()]):
                _, p = inflight.pop(id(handle))
                folder = _artifacts_root(project) / p.fingerprint if outcome.ok else None
                p.result = _record(p, outcome, folder, spec, runs, tracker)
                observer.step_finished(p.result)
                if folder is not None:
                    folders[p.step.name] = str(folder)
                elif failed is None:
                    failed = p.result
    for p in waiting:
        assert failed is not None
        p.result = StepResult(name=p.step.name, status="skipped", duration_s=0.0,
                              reason=f"not run: step {failed.name!r} failed",
                              fingerprint=p.fingerprint)
        runs.update_step(spec.run_id, p.step.name, status="skipped", reason=p.result.reason)
        observer.step_finished(p.result)
    return failed


def _artifacts_root(project: Project) -> Path:
    return project.state_dir / "artifacts"


def _record(p: _Planned, outcome: TaskResult, folder: Path | None, spec: ContextSpec,
            runs: RunStore, tracker: RunTracker) -> StepResult:
    status = "succeeded" if outcome.ok else "failed"
    step_run = tracker.log_step(p.step.name, outcome, fingerprint=p.fingerprint)
    runs.update_step(
        spec.run_id, p.step.name, status=status,
        started_at=datetime.fromtimestamp(outcome.started_at, UTC),
        finished_at=datetime.fromtimestamp(outcome.finished_at, UTC),
        duration_s=outcome.duration_s, outputs=outcome.outputs, error=outcome.error,
        traceback=outcome.traceback, mlflow_run_id=step_run)
    return StepResult(name=p.step.name, status=status, duration_s=outcome.duration_s,
                      reason=p.reason, fingerprint=p.fingerprint,
                      folder=str(folder) if folder else None, outputs=dict(outcome.outputs),
                      error=outcome.error, traceback=outcome.traceback)


def _alert_failure(project: Project, result: RunResult, failed: StepResult) -> None:
    webhooks = project.config.alerts.webhooks
    if not any(w.wants("run_failed") for w in webhooks):
        return
    from shipyard.notify import Event, notify

    notify(webhooks, Event(
        kind="run_failed", title=f"{result.pipeline}: run {result.run_id} failed",
        summary=f"step {failed.name!r} failed: {failed.error}",
        facts={"run": result.run_id, "pipeline": result.pipeline, "step": failed.name,
               "resume": f"shipyard run {result.pipeline} --resume {result.run_id}"},
        details={"run_id": result.run_id, "step": failed.name, "error": failed.error},
        project=project.config.project, environment=project.env_name))


def _models_to_register(project: Project, plan: list[_Planned]) -> list[TrainedModel]:
    """Every TrainedModel output the registry has not finished with.

    A model trained by this run is registered. A model reused from the cache is registered
    unless a version carrying its step's fingerprint finished its registration, so a
    registration that failed, or that a killed process left halfway, is completed by the
    next run rather than lost.
    """
    from shipyard.registry.flow import is_registered

    found = []
    store = ResultStore(_artifacts_root(project))
    for p in plan:
        stored = p.cached or store.lookup(p.fingerprint)
        if stored is None:
            continue
        trained = [o for o, entry in stored.outputs.items() if entry["kind"] == "trained"]
        for output in trained:
            model = load_value(stored.outputs[output], stored.folder)
            fingerprint = f"{p.fingerprint}:{output}"
            if p.cached is None or not is_registered(project, model.name, fingerprint):
                model.tags["shipyard.fingerprint"] = fingerprint
                found.append(model)
    return found
