"""The one exception tree of Shipyard.

Every error a user can meet carries the exit code the CLI returns and the HTTP status the
server answers with, so both shells map errors the same way::

    ShipyardError                 exit 1, HTTP 500
    ├── ConfigError               exit 2, HTTP 400   shipyard.yaml is invalid
    ├── SourceError               exit 1, HTTP 502   a source database cannot be read
    ├── StoreUnreachable          exit 1, HTTP 503   a database or tracking store is down
    ├── LakeError                 exit 1, HTTP 500   a Delta table is missing or unreadable
    ├── PIIError                  exit 1, HTTP 400   a query names a column declared PII
    ├── LockedError               exit 1, HTTP 409   another process holds the table's lock
    ├── NotFoundError             exit 1, HTTP 404   unknown table, batch, version
    ├── PipelineError             exit 1, HTTP 400   unknown pipeline/step, bad graph or parameter
    ├── StepFailed                exit 1, HTTP 500   a step raised; the run is recorded as failed
    ├── DataRejected              exit 3, HTTP 422   a batch failed validation
    ├── ModelRejected             exit 4, HTTP 422   a model failed its gate
    └── PromotionRefused          exit 1, HTTP 409   e.g. promoting a rejected version
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataRejected",
    "LakeError",
    "LockedError",
    "ModelRejected",
    "NotFoundError",
    "PIIError",
    "PipelineError",
    "PromotionRefused",
    "ShipyardError",
    "SourceError",
    "StepFailed",
    "StoreUnreachable",
]


class ShipyardError(Exception):
    """Base of every error Shipyard raises on purpose; its message is meant for a person."""

    exit_code: int = 1
    http_status: int = 500


class ConfigError(ShipyardError):
    exit_code = 2
    http_status = 400


class SourceError(ShipyardError):
    http_status = 502


class StoreUnreachable(ShipyardError):
    """A store (metadata, results, source database, tracking store) does not answer.

    The message names the store, its URL without the password, and the setting to check.
    """

    http_status = 503


class LakeError(ShipyardError):
    pass


class PIIError(ShipyardError):
    http_status = 400


class LockedError(ShipyardError):
    http_status = 409


class NotFoundError(ShipyardError):
    http_status = 404


class DataRejected(ShipyardError):
    """A batch failed validation; it is in quarantine and the lake is unchanged."""

    exit_code = 3
    http_status = 422

    def __init__(self, message: str, *, batch_ids: list[str]) -> None:
        super().__init__(message)
        self.batch_ids = batch_ids


class PipelineError(ShipyardError):
    http_status = 400


class StepFailed(ShipyardError):
    """A step raised; the message names the step and the run, the traceback is in the record."""


class ModelRejected(ShipyardError):
    """A trained model failed its gate; the version is registered and tagged rejected."""

    exit_code = 4
    http_status = 422


class PromotionRefused(ShipyardError):
    """A registry move that breaks its rules: a rejected version, nothing to roll back to."""

    http_status = 409


class PipelineDefinitionError(PipelineError):
    """A pipeline, step or parameter is declared wrongly (pipeline.py or shipyard.yaml):
    fixed by editing the definition, not by running again."""


class UnsupportedArtifact(PipelineError):
    """A step returned (or the store holds) a value of a type that cannot be stored safely."""


class UntrustedEstimator(UnsupportedArtifact):
    """An estimator holds types skops does not trust; storing or loading it would run code."""


class ResumeRefused(PipelineError):
    """``--resume`` of a run that cannot be resumed (succeeded, still running, other
    pipeline, or with new settings)."""


class RunIdTaken(PipelineError):
    """The id promised for a new run is already a run's."""
