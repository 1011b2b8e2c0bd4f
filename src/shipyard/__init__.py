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

from typing import TYPE_CHECKING as _TYPE_CHECKING

from shipyard._lazy import exports as _exports
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

if _TYPE_CHECKING:
    from shipyard.lake.ingest import IngestResult, TableOutcome, ingest
    from shipyard.lake.tables import DeltaStore
    from shipyard.pipeline import Pipeline, RunContext, step
    from shipyard.project import Project
    from shipyard.runs import run_pipeline

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

# Where each name that needs the heavy libraries lives. They are imported on first use
# (PEP 562), so that ``import shipyard`` — and with it every ``shipyard`` command, even
# ``--version`` — costs milliseconds instead of loading pandas, Arrow, SciPy and MLflow.
# ``run_pipeline`` is the runner with the project's hooks (MLflow, alerts, registry).
_LAZY = {
    "DeltaStore": "shipyard.lake.tables",
    "IngestResult": "shipyard.lake.ingest",
    "Pipeline": "shipyard.pipeline",
    "Project": "shipyard.project",
    "RunContext": "shipyard.pipeline",
    "TableOutcome": "shipyard.lake.ingest",
    "ingest": "shipyard.lake.ingest",
    "run_pipeline": "shipyard.runs",
    "step": "shipyard.pipeline",
}

__getattr__, __dir__ = _exports(__name__, _LAZY)
