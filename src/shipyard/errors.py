"""The one exception tree of Shipyard.

Every error a user can meet carries the exit code the CLI returns and the HTTP status the
server answers with, so both shells map errors the same way::

    ShipyardError                 exit 1, HTTP 500
    ├── ConfigError               exit 2, HTTP 400   shipyard.yaml is invalid
    │   └── DatabaseMissing       exit 2, HTTP 400   … names a database its server lacks
    ├── SourceError               exit 1, HTTP 502   a source database cannot be read
    ├── StoreUnreachable          exit 1, HTTP 503   a database or tracking store is down
    ├── LakeError                 exit 1, HTTP 500   a Delta table is missing or unreadable
    ├── PIIError                  exit 1, HTTP 400   a query names a column declared PII
    ├── LockedError               exit 1, HTTP 409   another process holds the table's lock
    ├── NotFoundError             exit 1, HTTP 404   unknown table, batch, version, model
    ├── Unauthorized              exit 1, HTTP 401   a request without a valid API key
    │   └── SignInRequired                           … the web UI without a session: sign in
    ├── NotPermitted              exit 1, HTTP 403   a valid key whose role may not do this
    ├── BadForm                   exit 1, HTTP 400   a web UI form without what it needs
    ├── BadInput                  exit 1, HTTP 400   a V2 or /invocations request its protocol refuses
    ├── TooManyWrongKeys          exit 1, HTTP 429   wrong keys from one address: wait, retry
    ├── NotReady                  exit 1, HTTP 503   a served model is loading or cannot answer
    │   └── StillLoading          exit 1, HTTP 503   … still loading: retry after a second
    ├── PipelineError             exit 1, HTTP 400   unknown pipeline/step, bad graph or parameter
    │   ├── PipelineDefinitionError                  … declared wrongly: fix the definition
    │   ├── UnsupportedArtifact                      … a value that cannot be stored safely
    │   │   └── UntrustedEstimator                   … types skops does not trust
    │   ├── ResumeRefused                            … --resume of a run that cannot resume
    │   └── RunIdTaken                               … the promised run id is already a run's
    ├── StepFailed                exit 1, HTTP 500   a step raised; the run is recorded as failed
    ├── DataRejected              exit 3, HTTP 422   a batch failed validation
    ├── ModelRejected             exit 4, HTTP 422   a model failed its gate
    ├── DriftDetected             exit 5, HTTP 409   monitor drift --fail-on-drift found drift
    ├── RulesFiring               exit 6, HTTP 409   monitor check --fail-on-firing found a rule firing
    ├── PromotionRefused          exit 1, HTTP 409   e.g. promoting a rejected version
    ├── ComparisonRefused         exit 1, HTTP 409   too few rows neither version has seen
    ├── DeployInvalid             exit 2, HTTP 400   deploy validate found a problem in deploy/
    └── RehearsalFailed           exit 1, HTTP 500   deploy rehearse: a replica not started/Ready
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "BadForm",
    "BadInput",
    "ComparisonRefused",
    "ConfigError",
    "DataRejected",
    "DatabaseMissing",
    "DeployInvalid",
    "DriftDetected",
    "LakeError",
    "LockedError",
    "ModelRejected",
    "NotFoundError",
    "NotPermitted",
    "NotReady",
    "PIIError",
    "PipelineDefinitionError",
    "PipelineError",
    "PromotionRefused",
    "RehearsalFailed",
    "ResumeRefused",
    "RulesFiring",
    "RunIdTaken",
    "ShipyardError",
    "SignInRequired",
    "SourceError",
    "StepFailed",
    "StillLoading",
    "StoreUnreachable",
    "TooManyWrongKeys",
    "Unauthorized",
    "UnsupportedArtifact",
    "UntrustedEstimator",
]


class ShipyardError(Exception):
    """Base of every error Shipyard raises on purpose; its message is meant for a person."""

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500
    http_headers: ClassVar[dict[str, str]] = {}
    """Headers the server's answer carries (``Retry-After``, ``WWW-Authenticate``)."""

    def response_headers(self) -> dict[str, str]:
        """The headers of the server's answer to this error: ``http_headers``, and what this
        one error adds (a ``Retry-After`` of its own)."""
        return dict(self.http_headers)


class ConfigError(ShipyardError):
    exit_code = 2
    http_status = 400


class DatabaseMissing(ConfigError):
    """A database server answers but lacks the configured database; the message says how to
    create it (Shipyard creates its own stores' databases itself where the server allows)."""


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


class Unauthorized(ShipyardError):
    """A request to the server without a valid API key."""

    http_status = 401
    http_headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class SignInRequired(Unauthorized):
    """The web UI without a session: it answers with a redirect to the sign-in page."""


class NotPermitted(ShipyardError):
    """A valid API key whose role may not do this (a viewer's key starting a pipeline run, a
    viewer's session accepting a batch), or a web UI form without its CSRF token."""

    http_status = 403


class BadForm(ShipyardError):
    """A web UI form sent without what it needs (a reason): the page says what to fill in."""

    http_status = 400


class BadInput(ShipyardError):
    """A request to a serving protocol route (V2 ``/infer``, ``/invocations``) that the
    protocol or the model's inputs refuse: the message names the tensor, column or field."""

    http_status = 400


class TooManyWrongKeys(ShipyardError):
    """Too many wrong API keys from one client address: its keys are refused for
    ``retry_after_s`` seconds (``Retry-After``), whatever they are, unless already seen
    right from that address (see ``shipyard.serving.wrong_keys``)."""

    http_status = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def response_headers(self) -> dict[str, str]:
        return {**self.http_headers, "Retry-After": str(self.retry_after_s)}


class NotReady(ShipyardError):
    """A served model cannot answer (its batcher stopped): restarting the server is the fix."""

    http_status = 503


class StillLoading(NotReady):
    """A served model is still loading; a client retries after a second."""

    http_headers: ClassVar[dict[str, str]] = {"Retry-After": "1"}


class DataRejected(ShipyardError):
    """A batch failed validation; it is in quarantine and the lake is unchanged.

    ``result`` is the whole ingest's outcome (a ``shipyard.lake.ingest.IngestResult``: every
    table's status and the rejected batches' reports), so that a caller can show it.
    """

    exit_code = 3
    http_status = 422

    def __init__(self, message: str, *, result: Any) -> None:
        super().__init__(message)
        self.result = result


class PipelineError(ShipyardError):
    http_status = 400


class StepFailed(ShipyardError):
    """A step raised; the message names the step and the run, the traceback is in the record.

    ``run_id`` names the failed run (to resume it); ``result`` is its
    ``shipyard.pipeline.RunResult`` (every step's status), for a caller that shows it.
    """

    def __init__(self, message: str, *, run_id: str | None = None, result: Any = None) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.result = result


class ModelRejected(ShipyardError):
    """A trained model failed its gate; the version is registered and tagged rejected.

    ``outcome`` is the registration's ``shipyard.registry.flow.Registered`` (name, version,
    gate checks), for a caller that shows it.
    """

    exit_code = 4
    http_status = 422

    def __init__(self, message: str, *, outcome: Any = None) -> None:
        super().__init__(message)
        self.outcome = outcome


class DriftDetected(ShipyardError):
    """``shipyard monitor drift --fail-on-drift`` found a served model's inputs or predictions
    drifted: exit 5, so a script or CI job can tell drift from a failure (exit 1).

    ``report`` is the ``shipyard.monitoring.DriftReport``, for a caller that shows it.
    """

    exit_code = 5
    http_status = 409

    def __init__(self, message: str, *, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class RulesFiring(ShipyardError):
    """``shipyard monitor check --fail-on-firing`` found monitoring rules firing: exit 6, so a
    script or CI job can tell a firing rule from drift (5) or a failure (1)."""

    exit_code = 6
    http_status = 409


class PromotionRefused(ShipyardError):
    """A registry move that breaks its rules: a rejected version, nothing to roll back to."""

    http_status = 409


class ComparisonRefused(ShipyardError):
    """Two versions cannot be compared fairly: too few rows that neither was fitted on for a
    confidence interval to mean anything."""

    http_status = 409


class DeployInvalid(ShipyardError):
    """``shipyard deploy validate`` found a manifest or workflow that fails a schema or a
    policy: exit 2, like any configuration to fix (each problem names its file and field)."""

    exit_code = 2
    http_status = 400


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


class RehearsalFailed(ShipyardError):
    """``shipyard deploy rehearse`` could not run what the manifests describe: a replica did
    not start or become Ready in time, a Job failed, or the settings are missing."""
