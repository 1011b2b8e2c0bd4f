"""The executor ABC: where step tasks run (the runner decides *what* runs)."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

if TYPE_CHECKING:
    from shipyard.pipeline.executors.tasks import StepTask, TaskResult

__all__ = ["Executor"]


class Executor(abc.ABC):
    """Runs step tasks somewhere. The runner decides *what* runs; an executor only *where*.

    The runner submits every task whose inputs are ready and then waits; an executor may run
    them one at a time (``local``) or in parallel (``dask``).
    """

    name: ClassVar[str]
    slots: int = 1
    """How many tasks may be in flight at once; the runner never submits more."""

    @abc.abstractmethod
    def start(self) -> None:
        """Acquire what tasks run on (connect to or start a cluster)."""

    @abc.abstractmethod
    def submit(self, task: StepTask) -> Any:
        """Hand a task over; returns a handle to pass to :meth:`wait`."""

    @abc.abstractmethod
    def wait(self, handles: list[Any]) -> list[tuple[Any, TaskResult]]:
        """Block until at least one of ``handles`` is done; return the done ones' results."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release what :meth:`start` acquired; safe to call twice."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
