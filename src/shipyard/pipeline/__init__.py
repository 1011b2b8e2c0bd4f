"""Pipelines: plain functions wired into a DAG, cached by fingerprint, recorded, resumable."""

from __future__ import annotations

from shipyard.pipeline.dag import Pipeline
from shipyard.pipeline.hooks import RunObserver
from shipyard.pipeline.results import RunResult, StepResult
from shipyard.pipeline.runner import run_with_hooks
from shipyard.pipeline.step import RunContext, Step, step
from shipyard.tracking.records import RunRecord, RunStore, StepRecord

__all__ = [
    "Pipeline",
    "RunContext",
    "RunObserver",
    "RunRecord",
    "RunResult",
    "RunStore",
    "Step",
    "StepRecord",
    "StepResult",
    "run_with_hooks",
    "step",
]
