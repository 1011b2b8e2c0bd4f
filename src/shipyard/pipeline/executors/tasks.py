"""What an executor runs (a :class:`StepTask`) and what it answers (a :class:`TaskResult`).

A task names its inputs by *where they are* — a stored result's fingerprint, a lake table
version, a parameter value — never by value, and its result gives where its outputs are. So the same task
runs in-process or on a Dask worker, and no arbitrary object travels between processes as a
pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ContextSpec", "Input", "StepTask", "TaskResult"]

InputKind = Literal["artifact", "lake", "value", "context"]


@dataclass(frozen=True)
class Input:
    """Where one argument's value is: an artifact (fingerprint + output), a lake table, a value."""

    kind: InputKind
    fingerprint: str | None = None
    output: str | None = None
    table: str | None = None
    version: int | None = None
    value: Any = None


@dataclass(frozen=True)
class ContextSpec:
    """The picklable part of a :class:`RunContext`; the project is reopened where it runs."""

    run_id: str
    pipeline: str
    env: str
    params: dict[str, Any]
    smoke: bool
    sample: float | None
    tuning: dict[str, Any] | None
    tracking_run_id: str | None
    data_versions: dict[str, int]
    environ: dict[str, str]
    """Environment variables a step process needs, set on a worker before the step runs: the
    ``${VAR}`` values shipyard.yaml names (so a worker of a shared cluster opens the same
    stores as the runner without a copy of its Secret) and the run's hooks' (a tracker's store
    and experiment). They travel over Dask's comms: a cluster for a team is its own."""


@dataclass(frozen=True)
class StepTask:
    """Everything needed to execute one step anywhere the project's code is reachable.

    ``state`` (the state store's folder or URL) and ``storage_options`` let a Dask worker open
    the same step cache as the runner, whatever machine it is on.
    """

    run_id: str
    step: str
    module: str
    qualname: str
    root: str
    env: str
    arguments: dict[str, Input]
    outputs: tuple[str, ...]
    unpack: bool
    fingerprint: str
    key: str
    state: str
    lake_root: str
    storage_options: dict[str, str] | None
    sample: float | None
    context: ContextSpec | None
    pickled: bytes | None = None
    artifact_modules: tuple[str, ...] = ()
    """Modules registering artifact types in the runner's process, imported where this runs."""
    func: Callable[..., Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class TaskResult:
    """How a task ended. Small and plain: outputs are paths, errors are text."""

    step: str
    ok: bool
    started_at: float
    finished_at: float
    outputs: dict[str, str] = field(default_factory=dict)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None

    @property
    def duration_s(self) -> float:
        return self.finished_at - self.started_at
