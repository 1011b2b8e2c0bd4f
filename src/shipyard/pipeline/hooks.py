"""The runner's hooks: how the rest of the project follows a run without the runner knowing it.

The runner plans, executes and records a run in the metadata database; everything else a run
sets off (its MLflow records, failure alerts, registering the models it trained, a shell's
progress lines) is a hook object the caller hands in. The shape is kedro's: calls before and
after the run and each step, and on errors. A hook implements only the methods it needs; the
runner calls those that exist, in the order the hooks were given. Hooks below the pipeline
layer (tracking, notify) cannot subclass :class:`RunObserver`, so their methods are checked
against its methods instead: a method named like a hook that the runner never calls (a typo,
``after_runs``) would otherwise be silently never called.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shipyard.errors import PipelineDefinitionError

if TYPE_CHECKING:
    from shipyard.pipeline.executors.tasks import TaskResult
    from shipyard.pipeline.results import RunResult, StepResult
    from shipyard.tracking.records import RunRecord, TrackedRun

__all__ = ["Hooks", "RunObserver"]


class RunObserver:
    """Every hook the runner calls, as no-ops; subclass it (or duck-type any subset).

    Order in a run: ``before_run`` → ``run_started`` → per step ``step_started``,
    ``after_step`` (executed steps), ``step_finished`` → ``after_run`` (steps all done) →
    ``run_finished``. A failure calls ``on_run_error`` then ``run_finished``.
    """

    def before_run(self, record: RunRecord) -> TrackedRun | None:
        """The run is recorded and planned, nothing executed; a tracker answers with its id."""
        return None

    def run_started(self, run_id: str, plan: list[StepResult]) -> None:
        """``plan`` has every step as ``reused`` or ``pending``."""

    def step_started(self, name: str) -> None:
        """A step was handed to the executor."""

    def after_step(self, run_id: str, result: StepResult, outcome: TaskResult) -> None:
        """An executed step ended (``outcome`` has its timing and logged metrics)."""

    def step_finished(self, result: StepResult) -> None:
        """A step ended (succeeded, failed or was skipped)."""

    def after_run(self, result: RunResult) -> None:
        """Every step succeeded; the record says ``registering`` until all hooks return.

        May raise: ``ModelRejected`` leaves the run succeeded, anything else fails it.
        """

    def on_run_error(self, run_id: str, error: BaseException,
                     result: RunResult | None) -> None:
        """The run is recorded as failed; ``result`` is there when a step failed."""

    def run_finished(self, run_id: str, status: str) -> None:
        """The record is final: ``succeeded``, ``failed`` or ``killed`` (interrupted)."""

    def run_abandoned(self, record: RunRecord) -> None:
        """A run whose process died was found and recorded as failed."""


METHODS = frozenset(name for name, _ in inspect.getmembers(RunObserver, inspect.isfunction)
                    if not name.startswith("_"))
"""The methods the runner calls."""

_HOOK_LIKE = re.compile(r"^(?:before|after|on|run|step)_")


class Hooks:
    """Calls one hook method on every hook object that has it, in order."""

    def __init__(self, hooks: Sequence[Any] = ()) -> None:
        for hook in hooks:
            unknown = sorted(name for name, _ in inspect.getmembers(type(hook), callable)
                             if _HOOK_LIKE.match(name) and name not in METHODS)
            if unknown:
                raise PipelineDefinitionError(
                    f"hook {type(hook).__name__} has {', '.join(unknown)}, which the runner "
                    f"never calls; its hook methods are {', '.join(sorted(METHODS))}")
        self.hooks = tuple(hooks)

    def call(self, method: str, *args: Any) -> list[Any]:
        assert method in METHODS, f"the runner calls {method!r}, which RunObserver lacks"
        return [getattr(hook, method)(*args) for hook in self.hooks if hasattr(hook, method)]
