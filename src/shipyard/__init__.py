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

from importlib import metadata as _metadata

__version__: str
try:
    __version__ = _metadata.version("shipyard")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

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
from shipyard.pipeline import Pipeline, RunContext, run_pipeline, step
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
