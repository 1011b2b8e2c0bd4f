"""Shipyard: validated, versioned data to monitored models in production.

The public API is what this module exports; everything else is internal and may change.

Training helpers are in :mod:`shipyard.train`, the registry flow in :mod:`shipyard.registry`
(imported on demand: they pull in scikit-learn, Optuna and MLflow).

Example:
    >>> from shipyard import Project, ingest, run_pipeline   # doctest: +SKIP
    >>> project = Project.open("/tmp/titanic")               # doctest: +SKIP
    >>> ingest(project)                                      # doctest: +SKIP
    >>> run_pipeline(project, "train").registered            # doctest: +SKIP
"""

from typing import Any as _Any

from shipyard._version import __version__
from shipyard.errors import (
    ConfigError,
    DataRejected,
    LakeError,
    LockedError,
    ModelRejected,
    NotFoundError,
    PIIError,
    PipelineError,
    PromotionRefused,
    ShipyardError,
    SourceError,
    StepFailed,
)
from shipyard.lake.ingest import IngestResult, TableOutcome, ingest
from shipyard.lake.tables import DeltaStore
from shipyard.pipeline import Pipeline, RunContext, step
from shipyard.project import Project

__all__ = [
    "ConfigError",
    "DataRejected",
    "DeltaStore",
    "IngestResult",
    "LakeError",
    "LockedError",
    "ModelRejected",
    "NotFoundError",
    "PIIError",
    "Pipeline",
    "PipelineError",
    "Project",
    "PromotionRefused",
    "RunContext",
    "ShipyardError",
    "SourceError",
    "StepFailed",
    "TableOutcome",
    "__version__",
    "ingest",
    "run_pipeline",
    "step",
]


def __getattr__(name: str) -> _Any:
    """``run_pipeline`` is the runner with the project's hooks (MLflow, alerts, registry):
    imported on first use, so that ``import shipyard`` does not load MLflow."""
    if name == "run_pipeline":
        from shipyard.registry.hooks import run_pipeline

        return run_pipeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "run_pipeline"])
