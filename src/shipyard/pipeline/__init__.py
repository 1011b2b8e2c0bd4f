"""Pipelines: plain functions wired into a DAG, cached by fingerprint, recorded, resumable."""

from __future__ import annotations

from shipyard.pipeline.dag import Pipeline
from shipyard.pipeline.records import RunInfo, RunRecord, RunStore, StepRecord
from shipyard.pipeline.runner import RunObserver, RunResult, StepResult, run_pipeline
from shipyard.pipeline.step import RunContext, Step, step

__all__ = [
    "Pipeline",
    "RunContext",
    "RunInfo",
    "RunObserver",
    "RunRecord",
    "RunResult",
    "RunStore",
    "Step",
    "StepRecord",
    "StepResult",
    "run_pipeline",
    "step",
]
