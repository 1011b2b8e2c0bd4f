"""How one task executes wherever it runs: load its inputs, call the step, store its outputs."""

from __future__ import annotations

import copy
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import PipelineError
from shipyard.faults import crash_point
from shipyard.pipeline.artifacts import import_registering, save_value
from shipyard.pipeline.cache import ResultStore
from shipyard.pipeline.executors.tasks import Input, StepTask, TaskResult
from shipyard.pipeline.fingerprint import digest
from shipyard.pipeline.step import RunContext
from shipyard.state import open_state

if TYPE_CHECKING:
    from collections.abc import Callable

    from shipyard.project import Project

__all__ = ["execute_task", "read_lake"]


def read_lake(lake_root: str, storage_options: dict[str, str] | None, table: str,
              version: int, sample: float | None) -> Any:
    """A lake table version as a ``pyarrow.Table``, sampled when ``sample`` is a fraction.

    The sample is seeded by table and version, so a smoke run sees the same rows every time
    (and a cached smoke result stays valid) while a new version draws new rows.
    """
    from shipyard.lake.tables import DeltaStore

    layer, name = table.split(".", 1)
    data = DeltaStore(lake_root, storage_options=storage_options).open(
        layer, name, version).to_pyarrow_table()  # type: ignore[arg-type]
    if sample is None or sample >= 1 or data.num_rows == 0:
        return data
    import numpy as np

    rng = np.random.default_rng(int(digest(f"{table}@{version}", 8), 16))
    keep = max(1, round(data.num_rows * sample))
    return data.take(np.sort(rng.choice(data.num_rows, keep, replace=False)))


def _context(task: StepTask, project: Project | None) -> RunContext:
    spec = task.context
    assert spec is not None
    if project is None:
        from shipyard.project import Project as _Project

        project = _Project.open(task.root, task.env)
    tuning = None
    if spec.tuning is not None:
        from shipyard.config.schema import TuningConfig

        tuning = TuningConfig(**spec.tuning)
    return RunContext(run_id=spec.run_id, pipeline=spec.pipeline, step=task.step,
                      project=project, env=spec.env, params=dict(spec.params),
                      smoke=spec.smoke, sample=spec.sample, tuning=tuning,
                      tracking_run_id=spec.tracking_run_id, data_versions=dict(spec.data_versions))


def _private_copy(value: Any) -> Any:
    """A copy a step may change without changing what other steps see (Arrow is immutable)."""
    if type(value).__module__.startswith("pyarrow"):
        return value
    return copy.deepcopy(value)


def _argument(task: StepTask, source: Input, store: ResultStore, project: Project | None,
              cache: dict[str, Any], memory: dict[str, Any] | None) -> Any:
    if source.kind == "value":
        return source.value
    if source.kind == "artifact":
        assert source.fingerprint is not None and source.output is not None
        held = f"{source.fingerprint}:{source.output}"
        if memory is not None and held in memory:
            return _private_copy(memory[held])
        found = store.lookup(source.fingerprint)
        if found is None:
            raise PipelineError(f"step {task.step!r}: the stored result "
                                f"{store.where(source.fingerprint)} is missing or incomplete; "
                                f"re-run with --no-cache")
        return store.load(found, source.output)
    if source.kind == "lake":
        assert source.table is not None and source.version is not None
        return read_lake(task.lake_root, task.storage_options, source.table, source.version,
                         task.sample)
    if "context" not in cache:
        cache["context"] = _context(task, project)
    return cache["context"]


def _split(task: StepTask, value: Any) -> dict[str, Any]:
    if not task.outputs:
        return {}
    if not task.unpack:
        return {task.outputs[0]: value}
    if not isinstance(value, tuple | list) or len(value) != len(task.outputs):
        got = f"{len(value)} values" if isinstance(value, tuple | list) else type(value).__name__
        raise PipelineError(
            f"step {task.step!r} declares outputs {list(task.outputs)} but returned {got}; "
            f"return a tuple of {len(task.outputs)} values"
        )
    return dict(zip(task.outputs, value, strict=True))


def _user_traceback(error: BaseException) -> str:
    """The traceback from the step's own frames on: this module's frame says nothing useful."""
    tb = error.__traceback__
    inner = tb.tb_next if tb is not None and tb.tb_next is not None else tb
    return "".join(traceback.format_exception(type(error), error, inner))


def execute_task(task: StepTask, func: Callable[..., Any], project: Project | None = None,
                 memory: dict[str, Any] | None = None) -> TaskResult:
    """Load the inputs, call the step, store its outputs; a raising step is a failed result.

    Args:
        task: The step and where its inputs are.
        func: The step function, already imported where this runs.
        project: The open project when running in-process; reopened from disk otherwise.
        memory: Outputs made earlier in this process, by ``fingerprint:output``. In-process runs
            hand values on through it (as copies) instead of reading back what was just
            written; every output is still written, for the cache and for other processes.
    """
    started = time.time()
    for module in task.artifact_modules:
        import_registering(module)
    store = ResultStore(project.state if project is not None
                        else open_state(task.state, task.storage_options))
    staging: Path | None = None
    context: dict[str, Any] = {}
    try:
        kwargs = {arg: _argument(task, source, store, project, context, memory)
                  for arg, source in task.arguments.items()}
        crash_point(f"step:{task.step}")
        values = _split(task, func(**kwargs))
        staging = store.staging(task.fingerprint)
        entries = {name: save_value(value, staging, name,
                                    where=f"step {task.step!r} output {name!r}")
                   for name, value in values.items()}
        result = store.commit(staging, task.fingerprint, step=task.step, run_id=task.run_id,
                              key=task.key, outputs=entries)
        if memory is not None:
            memory.update({f"{task.fingerprint}:{n}": v for n, v in values.items()})
        metrics = context["context"]._metrics if "context" in context else []
        return TaskResult(step=task.step, ok=True, started_at=started, finished_at=time.time(),
                          outputs={n: str(result.path(n)) for n in entries}, entries=entries,
                          metrics=list(metrics))
    except (Exception, SystemExit) as error:  # noqa: BLE001 - a step's failure is recorded, not raised here
        if staging is not None:
            store.discard(staging)
        metrics = context["context"]._metrics if "context" in context else []
        return TaskResult(step=task.step, ok=False, started_at=started, finished_at=time.time(),
                          metrics=list(metrics), error=f"{type(error).__name__}: {error}",
                          traceback=_user_traceback(error))
