"""Run a pipeline: plan from cache keys, execute what changed, record everything.

A run is planned whole before anything executes (:mod:`shipyard.pipeline.planning`). Steps
that must run go to the executor as soon as their inputs exist; each result is recorded in
the metadata database the moment it arrives. Whatever else a run sets off (its MLflow
records, failure alerts, registering its models) is done by the hooks the caller hands in
(:mod:`shipyard.pipeline.hooks`; the project's are wired by the registry layer, above this).
A failed run resumes by re-running with the same parameters and data versions
(:mod:`shipyard.pipeline.resume`): its finished steps are found in the cache.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import ModelRejected, PipelineError, StepFailed
from shipyard.pipeline.artifacts import artifact_modules
from shipyard.pipeline.cache import ResultStore
from shipyard.pipeline.executors import (
    EXECUTORS,
    Executor,
    StepTask,
    TaskResult,
    create_executor,
)
from shipyard.pipeline.executors.tasks import ContextSpec, Input
from shipyard.pipeline.hooks import Hooks
from shipyard.pipeline.loader import load_pipeline, pipeline_config
from shipyard.pipeline.planning import Planned, plan, planned_result, step_row, version_of
from shipyard.pipeline.provenance import code_archive, environment, git_state
from shipyard.pipeline.results import RunResult, StepResult
from shipyard.pipeline.resume import close_open_steps, recover_abandoned, settings
from shipyard.state import is_object_url
from shipyard.tracking.records import RunStore, TrackedRun

if TYPE_CHECKING:
    from shipyard.config.schema import PipelineConfig
    from shipyard.pipeline.dag import Pipeline
    from shipyard.project import Project

__all__ = ["run_with_hooks"]

logger = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def run_with_hooks(
    project: Project,
    pipeline: str,
    *,
    params: dict[str, Any] | None = None,
    sample: float | None = None,
    smoke: bool = False,
    resume: str | None = None,
    executor: str | None = None,
    no_cache: bool = False,
    hooks: Sequence[Any] = (),
    run_id: str | None = None,
) -> RunResult:
    """Run pipeline ``pipeline`` of ``project``, reusing every step whose inputs are unchanged.

    This is the runner alone: it records the run in the metadata database and calls
    ``hooks``. ``shipyard.run_pipeline`` (and the CLI) run it with the project's hooks:
    MLflow records, failure alerts and model registration.

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
        hooks: Objects implementing any of :class:`~shipyard.pipeline.hooks.RunObserver`'s
            methods, called in this order.
        run_id: The id to record the run under, when the caller (the server) has to know
            it before the run starts; taken by another run, it is an error, never redrawn.

    Returns:
        The :class:`RunResult` of a succeeded run.

    Raises:
        PipelineError: Unknown pipeline, bad parameter, bad graph, missing lake table.
        StepFailed: A step raised; the run is recorded as failed with the step's traceback.
        ModelRejected: A hook (the registry's gate) rejected a model; the run succeeded.
    """
    calls = Hooks(hooks)
    config = pipeline_config(project, pipeline)
    runs = RunStore.of(project)
    recover_abandoned(runs, pipeline, hooks)
    if sample is not None and not 0 < sample <= 1:
        raise PipelineError(f"--sample must be a fraction in (0, 1], got {sample}")
    executor_name = executor or _default_executor(project, config)
    if executor_name not in EXECUTORS:
        raise PipelineError(f"unknown executor {executor_name!r}; expected one of "
                            f"{', '.join(EXECUTORS)}")
    started = _now()
    given_id = run_id is not None
    run_id = run_id or runs.new_run_id(pipeline, started)
    built = load_pipeline(project, pipeline, token=run_id)
    chosen = settings(project, runs, pipeline, built, config.params, params, sample, smoke,
                      resume, hooks)
    tuning = config.tuning
    if tuning is not None and chosen.smoke:
        tuning = tuning.model_copy(update={"trials": 1})
    results = ResultStore.of(project)
    planned = plan(project, built, chosen, tuning, runs, results, pipeline, no_cache, run_id)
    git = git_state(project.root)
    resumed_from = chosen.resumed.id if chosen.resumed else None
    run_id = runs.start(
        keep_id=given_id,
        id=run_id, pipeline=pipeline, started_at=started, params=chosen.params,
        executor=executor_name, env=project.env_name, git_commit=git.commit,
        git_dirty=git.dirty, data_versions=chosen.data_versions, smoke=chosen.smoke,
        sample=chosen.sample, no_cache=no_cache, resumed_from=resumed_from,
        tracking_uri=project.tracking_uri, environment=environment(),
        host=socket.gethostname(), pid=os.getpid(), run_by=project.user)
    tracked: TrackedRun | None = None
    try:
        runs.add_steps(run_id, [step_row(i, p) for i, p in enumerate(planned)])
        snapshot = _snapshot(project, run_id)
        runs.update(run_id, snapshot_path=snapshot)
        tracked = next((t for t in calls.call("before_run", runs.get(run_id)) if t), None)
        calls.call("run_started", run_id, [planned_result(p) for p in planned])
        spec = ContextSpec(run_id=run_id, pipeline=pipeline, env=project.env_name,
                           params=chosen.params, smoke=chosen.smoke, sample=chosen.sample,
                           tuning=tuning.model_dump() if tuning else None,
                           tracking_run_id=tracked.run_id if tracked else None,
                           data_versions=chosen.data_versions,
                           environ={**project.config.variables(),
                                    **(dict(tracked.environ) if tracked else {})})
        failed = _execute(project, built, planned, spec, runs, calls,
                          create_executor(executor_name, project, pipeline, config),
                          chosen.sample)
    except BaseException as error:
        # Interrupted (Ctrl-C) or broken outside any step: the record must not stay "running".
        _fail(runs, calls, run_id, started, error, f"{type(error).__name__}: {error}", None)
        raise
    result = RunResult(
        run_id=run_id, pipeline=pipeline, status="failed" if failed else "succeeded",
        duration_s=(_now() - started).total_seconds(),
        steps=tuple(p.result or planned_result(p) for p in planned), params=chosen.params,
        data_versions=chosen.data_versions,
        tracking_run_id=tracked.run_id if tracked else None,
        tracking_uri=project.tracking_uri, git_commit=git.commit, git_dirty=git.dirty,
        snapshot_path=snapshot, smoke=chosen.smoke, sample=chosen.sample, results=results)
    if failed:
        step_failed = StepFailed(
            f"step {failed.name!r} failed in run {run_id}: {failed.error}. "
            f"Traceback: '{project.command(f'runs show {run_id}')}'; after a fix, "
            f"'{project.command(f'run {pipeline} --resume {run_id}')}'", run_id=run_id,
            result=result)
        runs.finish(run_id, "failed", started, error=failed.error, traceback=failed.traceback)
        calls.call("on_run_error", run_id, step_failed, result)
        calls.call("run_finished", run_id, "failed")
        raise step_failed
    _after_run(runs, calls, result, started)
    return result


def _default_executor(project: Project, config: PipelineConfig) -> str:
    """The pipeline's declared executor; else Dask where the environment names a scheduler."""
    if "executor" not in config.model_fields_set and project.env.dask_address:
        return "dask"
    return config.executor


def _snapshot(project: Project, run_id: str) -> str:
    """Keep the run's code in the state store (``snapshots/<run>.tar.gz``); returns where."""
    local = [Path(p) for p in (project.state.location, project.lake_root) if not is_object_url(p)]
    return project.state.put(f"snapshots/{run_id}.tar.gz",
                             code_archive(project.root, exclude=local))


def _fail(runs: RunStore, calls: Hooks, run_id: str, started: datetime, error: BaseException,
          note: str, result: RunResult | None) -> None:
    """Record the run as failed with ``note`` and tell the hooks; a Ctrl-C is ``killed``."""
    runs.finish(run_id, "failed", started, error=note, traceback=traceback.format_exc())
    close_open_steps(runs, runs.get(run_id), note)
    calls.call("on_run_error", run_id, error, result)
    calls.call("run_finished", run_id,
               "killed" if isinstance(error, KeyboardInterrupt) else "failed")


def _after_run(runs: RunStore, calls: Hooks, result: RunResult, started: datetime) -> None:
    """Let the hooks finish the run (register its models) while the record says so.

    The run is not done until its models are gated: killed here, the record stays
    ``registering`` until the next run of the pipeline marks it interrupted and finishes the
    registration. A ``ModelRejected`` is a finished registration: every hook still runs, the
    run is recorded as succeeded and the first rejection is raised. Any other error fails
    the run, so ``--resume`` (or a rerun) registers the models again.
    """
    runs.update(result.run_id, status="registering")
    rejected: list[ModelRejected] = []
    for hook in calls.hooks:
        if not hasattr(hook, "after_run"):
            continue
        try:
            hook.after_run(result)
        except ModelRejected as error:
            rejected.append(error)
        except BaseException as error:
            _fail(runs, calls, result.run_id, started, error,
                  f"registration failed: {type(error).__name__}: {error}", result)
            raise
    runs.finish(result.run_id, "succeeded", started)
    calls.call("run_finished", result.run_id, "succeeded")
    if rejected:
        raise rejected[0]


def _function_ref(func: Any) -> tuple[str, str, bytes | None]:
    """How a worker finds the step: by module and name, or by value when it has no name."""
    module = getattr(func, "__module__", None) or "__main__"
    qualname = getattr(func, "__qualname__", "")
    if "<" in qualname or not qualname or module == "__main__":
        import cloudpickle

        return module, qualname, cloudpickle.dumps(func)
    return module, qualname, None


def _task(project: Project, p: Planned, spec: ContextSpec, done: dict[str, str],
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
            arguments[argument] = Input("artifact", fingerprint=done[producer],
                                        output=source.name)
        else:
            version = version_of(source.name, source.version, spec.data_versions)
            arguments[argument] = Input("lake", table=source.name, version=version)
    module, qualname, pickled = _function_ref(p.step.func)
    return StepTask(
        run_id=spec.run_id, step=p.step.name, module=module, qualname=qualname,
        root=str(project.root), env=project.env_name, arguments=arguments,
        outputs=p.step.outputs, unpack=p.step.unpack, fingerprint=p.fingerprint,
        key=p.key.encode(), state=project.state.location,
        lake_root=project.lake_root, storage_options=project.storage_options, sample=sample,
        context=spec if "context" in {s.kind for s in p.step.inputs.values()} else None,
        pickled=pickled, artifact_modules=artifact_modules(), func=p.step.func)


def _execute(project: Project, built: Pipeline, planned: list[Planned], spec: ContextSpec,
             runs: RunStore, calls: Hooks, executor: Executor,
             sample: float | None) -> StepResult | None:
    """Run the steps without a cached result; returns the first failed step, if any.

    The executor is started only when something has to run, so a fully cached run never
    starts a cluster.
    """
    done = {p.step.name: p.fingerprint for p in planned if p.cached is not None}
    waiting = [p for p in planned if p.cached is None]
    for p in planned:
        if p.cached is not None:
            p.result = planned_result(p)
    if not waiting:
        return None
    failed: StepResult | None = None
    inflight: dict[int, tuple[Any, Planned]] = {}
    with executor:
        while waiting or inflight:
            for p in list(waiting):
                if failed is not None or len(inflight) >= executor.slots:
                    break
                if all(u.name in done for u in built.upstream(p.step)):
                    runs.update_step(spec.run_id, p.step.name, status="running",
                                     started_at=_now())
                    calls.call("step_started", p.step.name)
                    handle = executor.submit(_task(project, p, spec, done, built, sample))
                    inflight[id(handle)] = (handle, p)
                    waiting.remove(p)
            if not inflight:
                break
            for handle, outcome in executor.wait([h for h, _ in inflight.values()]):
                _, p = inflight.pop(id(handle))
                where = ResultStore.of(project).where(p.fingerprint) if outcome.ok else None
                p.result = _record(p, outcome, where, spec, runs)
                calls.call("after_step", spec.run_id, p.result, outcome)
                calls.call("step_finished", p.result)
                if outcome.ok:
                    done[p.step.name] = p.fingerprint
                elif failed is None:
                    failed = p.result
    for p in waiting:
        assert failed is not None
        p.result = StepResult(name=p.step.name, status="skipped", duration_s=0.0,
                              reason=f"not run: step {failed.name!r} failed",
                              fingerprint=p.fingerprint)
        runs.update_step(spec.run_id, p.step.name, status="skipped", reason=p.result.reason)
        calls.call("step_finished", p.result)
    return failed


def _record(p: Planned, outcome: TaskResult, where: str | None, spec: ContextSpec,
            runs: RunStore) -> StepResult:
    status = "succeeded" if outcome.ok else "failed"
    runs.update_step(
        spec.run_id, p.step.name, status=status,
        started_at=datetime.fromtimestamp(outcome.started_at, UTC),
        finished_at=datetime.fromtimestamp(outcome.finished_at, UTC),
        duration_s=outcome.duration_s, outputs=outcome.outputs, error=outcome.error,
        traceback=outcome.traceback)
    return StepResult(name=p.step.name, status=status, duration_s=outcome.duration_s,
                      reason=p.reason, fingerprint=p.fingerprint,
                      folder=where, outputs=dict(outcome.outputs),
                      error=outcome.error, traceback=outcome.traceback)
