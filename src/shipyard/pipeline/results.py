"""What a run did: one :class:`StepResult` per step and the :class:`RunResult` of the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import PipelineError
from shipyard.pipeline.artifacts import load_value
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
