"""The default executor: steps run one after another in this process.

No cluster to start, and a step's outputs go to the next steps in memory (as copies) while
they are written to the artifact store, so a run costs little more than calling the functions;
it is what a laptop run and most tests use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.pipeline.executors.base import Executor
from shipyard.pipeline.executors.execute import execute_task
from shipyard.pipeline.executors.tasks import StepTask, TaskResult

if TYPE_CHECKING:
    from shipyard.project import Project

__all__ = ["LocalExecutor"]


class LocalExecutor(Executor):
    """Runs each submitted task, in submission order, when :meth:`wait` is called."""

    name = "local"

    def __init__(self, project: Project | None = None) -> None:
        self._project = project
        self._memory: dict[str, Any] = {}  # outputs of this run, handed on without a re-read

    def start(self) -> None:
        return None

    def submit(self, task: StepTask) -> Any:
        if task.func is None:
            raise ValueError(f"local executor: task {task.step!r} carries no function")
        return task

    def wait(self, handles: list[Any]) -> list[tuple[Any, TaskResult]]:
        # One slot: the runner submits a task only when the previous one is done, so a step
        # is recorded as running exactly while it runs.
        task: StepTask = handles[0]
        assert task.func is not None
        return [(task, execute_task(task, task.func, self._project, self._memory))]

    def close(self) -> None:
        self._memory.clear()
