"""What a run did: one :class:`StepResult` per step and the :class:`RunResult` of the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import PipelineError
from shipyard.pipeline.cache import ResultStore

__all__ = ["RunResult", "StepResult"]


@dataclass(frozen=True)
class StepResult:
    """How one step of a run went.

    Attributes:
        name: Step name.
        status: ``succeeded``, ``reused``, ``failed``, ``skipped`` (a step before it failed),
            or ``pending`` in the plan announced when the run starts.
        duration_s: Time the step took in this run (0 when reused).
        reason: Why it ran ("code of prepare changed") or "reused from run R".
        fingerprint: The step's cache key hash; names its result in the step cache.
        folder: Where the result is (outputs and manifest; a folder or a URL), when there is one.
        outputs: Output name → where its file or folder is.
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
    """What a finished run did and where it is recorded; :meth:`load` reads an output back.

    It is also the run's lineage handed to the hooks (the registry tags a model with it).
    """

    run_id: str
    pipeline: str
    status: str
    duration_s: float
    steps: tuple[StepResult, ...]
    params: dict[str, Any]
    data_versions: dict[str, int]
    tracking_run_id: str | None
    """The run's id in the tracking store, when a tracker hook recorded it there."""
    tracking_uri: str
    git_commit: str | None
    git_dirty: bool | None
    snapshot_path: str
    smoke: bool
    sample: float | None
    registered: list[Any] = field(default_factory=list)
    """What the hooks handed on after the run succeeded (the registry's ``Registered``)."""
    results: ResultStore | None = field(default=None, compare=False, repr=False)
    """The step cache the outputs are in, for :meth:`load`."""

    def step(self, name: str) -> StepResult:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def load(self, output: str) -> Any:
        """The value of step output ``output``, read from the artifact store."""
        for s in self.steps:
            if output in s.outputs and s.folder and self.results is not None:
                found = self.results.lookup(s.fingerprint)
                if found is not None:
                    return self.results.load(found, output)
        raise PipelineError(f"run {self.run_id} has no stored output {output!r}")
