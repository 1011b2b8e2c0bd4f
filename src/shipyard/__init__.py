"""Shipyard: validated, versioned data to monitored models in production.

The public API is what this module exports; everything else is internal and may change.

Example:
    >>> from shipyard import Project, ingest          # doctest: +SKIP
    >>> result = ingest(Project.open("/tmp/shop"))    # doctest: +SKIP
"""

from importlib import metadata as _metadata

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
    ShipyardError,
    SourceError,
    StepFailed,
)
from shipyard.lake.ingest import IngestResult, TableOutcome, ingest
from shipyard.lake.tables import DeltaStore
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
    "PipelineError",
    "Project",
    "ShipyardError",
    "SourceError",
    "StepFailed",
    "TableOutcome",
    "__version__",
    "ingest",
]
