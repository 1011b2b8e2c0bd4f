"""A project's pipeline runs, wired: MLflow run records, failure alerts, model registration.

The runner (:mod:`shipyard.pipeline.runner`, ``run_with_hooks``) knows none of these; this
module, the layer between the registry and what uses runs (batch, monitoring, the scheduler,
the server, the CLI), is the lowest that may import all of them, so every caller that runs a
project's pipeline for real (the CLI, the scheduler, a drift-triggered retrain,
``shipyard.run_pipeline``) gets the same hooks from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from shipyard.errors import ModelRejected, PipelineError
from shipyard.names import FINGERPRINT
from shipyard.notify.runs import FailureAlerts
from shipyard.pipeline import runner
from shipyard.pipeline.cache import ResultStore
from shipyard.pipeline.resume import mark_interrupted as _mark_interrupted
from shipyard.registry.flow import is_registered, register_trained
from shipyard.tracking.records import RunRecord, RunStore
from shipyard.tracking.runs import MlflowRunRecords, mark_killed
from shipyard.train.trained import TrainedModel

if TYPE_CHECKING:
    from shipyard.pipeline.results import RunResult
    from shipyard.project import Project

__all__ = ["Registration", "mark_interrupted", "project_hooks", "run_pipeline"]


class Registration:
    """Hands every trained model of a succeeded, non-smoke run to the registry flow.

    A model trained by this run is registered. A model reused from the cache is registered
    unless a version carrying its step's fingerprint finished its registration, so a
    registration that failed, or that a killed process left halfway, is completed by the
    next run rather than lost. Every model is registered even when an earlier one is
    rejected; the first rejection is raised after all of them.
    """

    def __init__(self, project: Project, *,
                 register: Callable[[Project, TrainedModel, RunResult], Any] = register_trained,
                 registered: Callable[[Project, str, str], bool] = is_registered) -> None:
        self.project = project
        self.register = register
        self.registered = registered

    def after_run(self, result: RunResult) -> None:
        rejected: list[ModelRejected] = []
        for model in [] if result.smoke else self._models(result):
            try:
                result.registered.append(self.register(self.project, model, result))
            except ModelRejected as error:
                rejected.append(error)
        if rejected:
            raise rejected[0]

    def _models(self, result: RunResult) -> list[TrainedModel]:
        found = []
        results = ResultStore.of(self.project)
        for step in result.steps:
            if step.folder is None:
                continue
            stored = results.lookup(step.fingerprint)
            if stored is None:  # it succeeded, so its manifest was written: someone removed it
                raise PipelineError(
                    f"step {step.name!r} succeeded but its result is gone from the state store "
                    f"({results.where(step.fingerprint)}), so its models cannot be registered: "
                    f"run the pipeline again with --no-cache")
            for output, entry in stored.outputs.items():
                if entry["kind"] != "trained":
                    continue
                fingerprint = f"{step.fingerprint}:{output}"
                name = TrainedModel.stored_name(results.fetch(stored, output) / entry["path"])
                if step.status == "reused" and self.registered(self.project, name, fingerprint):
                    continue  # registered by the run that trained it: nothing to load
                model = results.load(stored, output)
                model.tags[FINGERPRINT] = fingerprint
                found.append(model)
        return found


class _AbandonedMlflowRuns:
    """Closes the MLflow runs of a run whose process died, without opening the store first."""

    def __init__(self, project: Project) -> None:
        self.tracking_uri = project.tracking_uri

    def run_abandoned(self, record: RunRecord) -> None:
        if record.mlflow_run_id:
            mark_killed(self.tracking_uri, record.mlflow_run_id)


def project_hooks(project: Project, *, registration: Registration | None = None,
                  extra: Sequence[Any] = ()) -> list[Any]:
    """The hooks a real run of ``project`` has, in calling order; ``extra`` (a shell's progress
    lines) come last. Opening the tracking store here fails the command before anything runs
    when it is down."""
    return [MlflowRunRecords(project), FailureAlerts(project),
            registration or Registration(project), *extra]


def run_pipeline(project: Project, pipeline: str, *, hooks: Sequence[Any] = (),
                 **options: Any) -> RunResult:
    """:func:`shipyard.pipeline.runner.run_with_hooks` with the project's hooks (and ``hooks``
    after them): what ``shipyard run`` and the scheduler do."""
    return runner.run_with_hooks(project, pipeline,
                                 hooks=project_hooks(project, extra=hooks), **options)


def mark_interrupted(project: Project, runs: RunStore, record: RunRecord) -> None:
    """Record that a run's process died and close its MLflow runs (for the server)."""
    _mark_interrupted(runs, record, [_AbandonedMlflowRuns(project)])
