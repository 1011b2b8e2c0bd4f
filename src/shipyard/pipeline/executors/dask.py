"""Steps on a Dask cluster: ``pipelines.<name>.dask_address``, else ``environments.<env>.dask_address``,
else a local cluster for the run.

Workers get a :class:`StepTask` (paths, URLs and plain values), import the step from the
project folder, read their inputs from the step cache in the state store and from the lake,
and write their outputs back; only the small :class:`TaskResult` returns to the runner. The
project's code must be reachable from the workers at the same path; the lake and the state are
too when they are folders (a shared disk), and from anywhere when they are object stores.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import PipelineError
from shipyard.pipeline.executors.base import Executor
from shipyard.pipeline.executors.execute import execute_task
from shipyard.pipeline.executors.tasks import StepTask, TaskResult

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

__all__ = ["DaskExecutor", "quiet_distributed", "run_on_worker"]

LOCAL_WORKERS = 2


def quiet_distributed() -> None:
    """Keep ``distributed``'s INFO lines (about 35 a run: scheduler, nannies, connections)
    out of a command's output, unless the command runs with ``--verbose``.

    ``LocalCluster(silence_logs=...)`` only quietens the handlers ``distributed`` attaches
    itself; its records also propagate to the root handler the CLI installs. ``--verbose``
    sets the root logger to INFO, and then they are shown.
    """
    if not logging.getLogger().isEnabledFor(logging.INFO):
        for name in ("distributed", "bokeh", "tornado"):
            logging.getLogger(name).setLevel(logging.WARNING)


def _environ_for(task: StepTask) -> None:
    """Set what the run's hooks asked step processes to have (a tracker's store and
    experiment), for steps that log there.

    Environment variables rather than calls into the tracker: those would open the store on
    every worker (seconds with SQLite) even for steps that never log.
    """
    if task.context is not None:
        os.environ.update(task.context.environ)


def run_on_worker(task: StepTask) -> TaskResult:
    """The function Dask runs: import the step fresh for this run, then execute it."""
    from shipyard.pipeline.loader import import_function, prepare_imports

    started = time.time()
    try:
        root = Path(task.root)
        if task.pickled is not None:  # a lambda or local function: not importable by name
            import cloudpickle

            prepare_imports(root, task.run_id, task.module)
            func = cloudpickle.loads(task.pickled)
        else:
            func = import_function(root, task.module, task.qualname, token=task.run_id,
                                   where=f"step {task.step!r}")
        _environ_for(task)
    except Exception as error:  # noqa: BLE001 - returned as the step's failure
        import traceback

        return TaskResult(step=task.step, ok=False, started_at=started, finished_at=time.time(),
                          error=f"{type(error).__name__}: {error}",
                          traceback=traceback.format_exc())
    return execute_task(task, func)


class DaskExecutor(Executor):
    """Submits tasks to a ``dask.distributed`` cluster and waits for the first to finish."""

    name = "dask"

    def __init__(self, address: str | None = None, *, where: str = "dask_address") -> None:
        self.address = address
        self.where = where
        self._client: Client | None = None
        self._cluster: LocalCluster | None = None
        self.slots = 1_000  # the scheduler queues; the DAG alone limits what is ready

    def start(self) -> None:
        from distributed import Client, LocalCluster

        quiet_distributed()
        if self.address:
            try:
                self._client = Client(self.address, timeout="10s")
            except OSError as error:
                raise PipelineError(
                    f"cannot reach the Dask scheduler at {self.address} ({error}); check "
                    f"{self.where}, or remove it to start a local cluster"
                ) from None
            return
        # The scheduler serves HTTP (health, metrics, dashboard) whatever dashboard_address
        # says: None still means port 8787, and a busy 8787 a warning. An ephemeral loopback
        # port opens nothing to the network and collides with nothing.
        self._cluster = LocalCluster(n_workers=LOCAL_WORKERS, threads_per_worker=1,
                                     processes=True, dashboard_address="127.0.0.1:0",
                                     scheduler_kwargs={"dashboard": False},
                                     # the workers' own ERROR lines too: at teardown one may
                                     # log a heartbeat to the closed scheduler (a race in
                                     # distributed); a step's failure comes back as its result
                                     silence_logs=logging.ERROR if logging.getLogger()
                                     .isEnabledFor(logging.INFO) else logging.CRITICAL)
        self._client = Client(self._cluster)

    def submit(self, task: StepTask) -> Any:
        if self._client is None:
            raise RuntimeError("DaskExecutor.submit before start()")
        remote = StepTask(**{**task.__dict__, "func": None})
        return self._client.submit(run_on_worker, remote, key=f"{task.run_id}-{task.step}",
                                   pure=False, retries=0)

    def wait(self, handles: list[Any]) -> list[tuple[Any, TaskResult]]:
        from distributed import wait

        done, _ = wait(handles, return_when="FIRST_COMPLETED")
        results = []
        for future in done:
            try:
                results.append((future, future.result()))
            except Exception as error:  # noqa: BLE001 - the worker died or the task could not be sent
                step = str(future.key).rsplit("-", 1)[-1]
                now = time.time()
                results.append((future, TaskResult(
                    step=step, ok=False, started_at=now, finished_at=now,
                    error=f"{type(error).__name__} on the Dask cluster: {error}",
                    traceback=None)))
        return results

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            # A worker slow to exit is killed after 4 s, with a warning each: expected when
            # a run's own cluster is torn down (its results are in), so not shown unless
            # --verbose.
            nanny = logging.getLogger("distributed.nanny")
            level = nanny.level
            if not logging.getLogger().isEnabledFor(logging.INFO):
                nanny.setLevel(logging.ERROR)
            try:
                self._cluster.close()
            finally:
                nanny.setLevel(level)
            self._cluster = None
