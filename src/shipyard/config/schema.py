"""Typed models of ``shipyard.yaml``.

The file is parsed once into these models so that every later part of Shipyard works on checked,
typed values; a bad file fails here, naming the key path, the bad value and what is allowed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from shipyard.config.durations import Duration, parse_duration
from shipyard.config.metrics import BASELINES, check_metrics, greater_is_better, metric_kind
from shipyard.errors import ConfigError

__all__ = [
    "CLEAN_TYPES",
    "EVENTS",
    "FILE_SUFFIXES",
    "RULE_KINDS",
    "AlertsConfig",
    "CleanRules",
    "CleanType",
    "ColumnExpectations",
    "CuratedTable",
    "DeployConfig",
    "DistributionSettings",
    "Environment",
    "ModelConfig",
    "MonitoringSettings",
    "OnDrift",
    "ParamRange",
    "PipelineConfig",
    "ProjectConfig",
    "ReferenceSettings",
    "ReportRetention",
    "RuleConfig",
    "ServingConfig",
    "SourceConfig",
    "TableConfig",
    "TuningConfig",
    "ValidationSettings",
    "WebhookConfig",
    "is_file_source",
]

CleanType = Literal[
    "bool", "int8", "int16", "int32", "int64", "float32", "float64", "string", "date", "timestamp"
]
"""Column types a CLEAN rule may cast to (Arrow names; ``timestamp`` is microseconds, UTC)."""
CLEAN_TYPES: tuple[str, ...] = get_args(CleanType)

EVENTS: tuple[str, ...] = (
    "batch_accepted",
    "batch_rejected",
    "quarantine_accepted",
    "run_failed",
    "model_rejected",
    "model_staged",
    "model_promoted",
    "model_rolled_back",
    "rule_firing",
    "rule_resolved",
    "drift_detected",
    "drift_recovered",
)
"""Events that can be sent to webhooks; later parts of the lifecycle add their own."""

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_GATE_RULE = re.compile(r"^\s*(>=|<=|>|<|==)\s*-?[0-9]*\.?[0-9]+\s*"
                        r"(?:(?:\*|×)\s*(popularity|mean)\s*)?$")


class _Model(BaseModel):
    # Unknown keys are errors: a typo in a key must not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


FILE_SUFFIXES = (".csv", ".tsv", ".parquet", ".csv.gz", ".tsv.gz")
"""Endings of a source ``url`` that names a file, read by DuckDB (:mod:`shipyard.lake.file_sources`)."""


def is_file_source(url: str) -> bool:
    """Whether a source ``url`` names a file (or glob) rather than a database."""
    return "://" not in url and url.lower().endswith(FILE_SUFFIXES)


class SourceConfig(_Model):
    url: str = Field(description="SQLAlchemy URL of the source database, or the path of a CSV "
                                 "or Parquet file (relative to the project folder; a glob for "
                                 "several), which is one table named after the source.")
    chunk_rows: Annotated[int, Field(gt=0)] = Field(
        default=100_000, description="Rows an ingest reads from the source at a time, which "
        "bounds its memory whatever the table's size.")


class Environment(_Model):
    """Where one environment keeps its stores. Relative paths are under the project folder."""

    lake: str = Field(description="Lake root: a folder or an object store URL (s3://, az://, gs://).")
    state: str = Field(
        default=".shipyard/{env}",
        description="Quarantine, reports, step cache and snapshots of this environment: a folder "
        "(relative to the project), or an object store URL (s3://, az://, abfss://) at team scale.",
    )
    metadata_db: str = Field(
        default="sqlite:///.shipyard/{env}/metadata.db",
        description="SQLAlchemy URL of the runs, batches and audit store.",
    )
    tracking_uri: str = Field(
        default="sqlite:///.shipyard/{env}/mlflow.db",
        description="MLflow tracking URI of this environment: its runs, metrics and model "
        "registry.",
    )
    results_db: str = Field(
        default="sqlite:///.shipyard/{env}/results.db",
        description="SQLAlchemy URL of the results store: the recommendation sets 'shipyard "
        "recommend' publishes and /v1/recommendations reads.",
    )
    storage_options: dict[str, str] = Field(
        default_factory=dict,
        description="Options of the object store the lake and state are on (credentials, "
        "region, endpoint), as deltalake's storage options name them.",
    )
    sources: dict[str, SourceConfig] = Field(
        default_factory=dict,
        description="This environment's own URL of a declared source (e.g. the team's ERP on "
        "PostgreSQL), in place of the project-wide sources.<name>.",
    )
    dask_address: str | None = Field(
        default=None,
        description="Dask scheduler of this environment (tcp://host:8786): its pipelines run "
        "there unless a pipeline names its own executor and address.",
    )


class CleanRules(_Model):
    rename: dict[str, str] = Field(
        default_factory=dict, description="New names of source columns in CLEAN: "
                                          "{source_name: clean_name}.")
    types: dict[str, CleanType] = Field(
        default_factory=dict, description="Type a source column is cast to in CLEAN; a batch "
                                          "with a value that does not cast is rejected.")
    pii: list[str] = Field(
        default_factory=list, description="Source columns never selected into CLEAN (so never "
                                          "into CURATED): only RAW holds them.")


class ColumnExpectations(_Model):
    not_null: bool = Field(
        default=False, description="A new batch with a NULL in this column is rejected.")
    unique: bool = Field(
        default=False, description="A new batch in which a value of this column repeats is "
                                   "rejected (NULLs aside); its values are not distribution-tested "
                                   "unless distribution.columns names it.")
    min: float | None = Field(
        default=None, description="Least value allowed; a new batch with a value below it is "
                                  "rejected.")
    max: float | None = Field(
        default=None, description="Greatest value allowed; a new batch with a value above it is "
                                  "rejected.")
    allowed: list[str | int | float | bool] | None = Field(
        default=None, description="The only values allowed (NULL is not checked here: see "
                                  "not_null); a new batch with another one is rejected.")

    @model_validator(mode="after")
    def _range_is_ordered(self) -> ColumnExpectations:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class DistributionSettings(_Model):
    """Settings of the per-column tests of a new batch against the last accepted one.

    With large batches a hypothesis test rejects even harmless differences, so a column fails
    only when the test is significant (p < alpha) *and* the effect is large enough to matter:
    the KS statistic or Cramér's V at least ``min_effect``. Tests run on seeded random samples of
    at most ``sample_rows`` rows per side, which also bounds their cost on huge batches.
    """

    enabled: bool = Field(
        default=True, description="Run the distribution and null-rate tests; false skips both.")
    alpha: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.01, description="Significance a test must reach (p < alpha) for a column to "
                                  "fail.")
    min_effect: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.1, description="Least effect (KS statistic or Cramér's V) with which a "
                                 "significant column fails.")
    sample_rows: Annotated[int, Field(ge=100)] = Field(
        default=20_000, description="Most rows per side, a seeded random sample, the value tests "
                                    "run on (null rates are compared on all rows).")
    max_categories: Annotated[int, Field(ge=2)] = Field(
        default=50, description="A category column with more distinct values than this in the "
                                "reference is not tested.")
    columns: list[str] | None = Field(
        default=None, description="Columns to test; default every numeric and low-cardinality one."
    )
    ignore: list[str] = Field(
        default_factory=list, description="Columns left out of the value tests (unless "
                                          "`columns` names them) and of the null-rate test.")


class ReferenceSettings(_Model):
    """What a new batch's distributions are compared with: the trailing window of batches that
    landed as normal.

    A batch counts as normal when it passed validation, or when the person who accepted it from
    quarantine said it is the new normal (``quarantine accept --as-new-normal``): then the window
    starts again at it. A batch accepted without saying so lands as an exception and is left out
    of every later reference, so one accepted anomaly does not become the yardstick of the
    months after it. A snapshot table's reference is the newest normal snapshot (each one is
    the whole table).
    """

    batches: Annotated[int, Field(ge=1, le=100)] = Field(
        default=3, description="How many of the latest normal batches an incremental table's "
        "new batch is compared with (their rows together).")


class ValidationSettings(_Model):
    distribution: DistributionSettings = Field(default_factory=DistributionSettings)
    reference: ReferenceSettings = Field(default_factory=ReferenceSettings)
    expectations: dict[str, ColumnExpectations] = Field(
        default_factory=dict, description="Rules on a column's values that every new batch must "
                                          "meet: {amount: {not_null: true, min: 0}}.")


class TableConfig(_Model):
    source: str = Field(description="Source the table is read from (a name under sources).")
    table: str | None = Field(
        default=None, description="Table of the source, read whole; give this or query.")
    query: str | None = Field(
        default=None, description="SQL selecting the rows instead, in the source's dialect "
                                  "(DuckDB's for a file source); give this or table.")
    mode: Literal["snapshot", "incremental"] = Field(
        default="snapshot", description="snapshot: each ingest reads the whole table and "
                                        "replaces it; incremental: only the rows past the "
                                        "watermark, appended.")
    watermark: str | None = Field(
        default=None, description="Column whose growing value marks new rows (required by "
                                  "incremental mode); it moves only when a batch lands.")
    primary_key: list[str] = Field(
        default_factory=list, description="Columns whose values together must be unique and not "
                                          "null in each new batch; their values are not "
                                          "distribution-tested unless distribution.columns "
                                          "names them.")
    clean: CleanRules = Field(
        default_factory=CleanRules, description="How RAW becomes CLEAN: columns renamed, cast, "
                                                "and PII left out.")
    validation: ValidationSettings = Field(
        default_factory=ValidationSettings, description="Checks a new batch must pass to land; "
                                                        "a failing one waits in quarantine.")

    @model_validator(mode="after")
    def _one_origin_and_watermark(self) -> TableConfig:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of 'table' (a source table name) or 'query' (SQL)")
        if self.mode == "incremental" and not self.watermark:
            raise ValueError(
                "mode 'incremental' needs 'watermark': the column whose growing value marks new rows"
            )
        return self


class CuratedTable(_Model):
    sql: str = Field(description="DuckDB SQL over CLEAN tables, referenced by their names.")
    description: str = Field(
        default="", description="Free text for the reader of the file; Shipyard does not use it.")


class ParamRange(_Model):
    """One dimension of an Optuna search space: either ``choices`` or ``low``/``high``."""

    choices: list[str | int | float | bool] | None = Field(
        default=None, description="Values to choose from (a categorical parameter).")
    low: float | None = Field(default=None, description="Lowest value of a numeric range.")
    high: float | None = Field(default=None, description="Highest value of a numeric range.")
    log: bool = Field(default=False, description="Sample the range on a log scale.")
    integer: bool = Field(default=False, description="Sample whole numbers from the range.")
    when: dict[str, str | int | float | bool | list[str | int | float | bool]] = Field(
        default_factory=dict,
        description="Only sample this parameter when the given parameters have these values "
        "(a list: any of them).",
    )

    @model_validator(mode="after")
    def _choices_or_range(self) -> ParamRange:
        if (self.choices is None) == (self.low is None or self.high is None):
            raise ValueError("give either 'choices' or both 'low' and 'high'")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low ({self.low}) is greater than high ({self.high})")
        return self


class TuningConfig(_Model):
    trials: Annotated[int, Field(ge=1)] = Field(
        default=20, description="Trials the search runs (fewer if timeout_s ends it first).")
    timeout_s: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="Seconds after which the search starts no new trial; none: "
                                  "no time limit.")
    storage: str | None = Field(
        default=None, description="Optuna RDB storage URL (e.g. PostgreSQL) for parallel workers."
    )
    workers: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1, description="Trials run at once; more than 1 needs a storage URL and gives "
        "up the exact repeatability of a seeded sequential search."
    )
    metric: str = Field(description="Validation metric to optimise, e.g. roc_auc.")
    direction: Literal["maximize", "minimize"] = Field(
        default="maximize", description="Whether the search maximises or minimises the metric; "
                                        "it must be the metric's own direction.")
    space: dict[str, ParamRange] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _workers_share_a_storage(self) -> TuningConfig:
        if self.workers > 1 and self.storage is None:
            raise ValueError("workers > 1 needs a storage URL (e.g. postgresql+psycopg://...) "
                             "where the workers share the study")
        return self


class PipelineConfig(_Model):
    function: Annotated[str, Field(pattern=r"^[\w.]+:[\w]+$")] = Field(
        description="module:function in the project folder that returns the Pipeline."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Parameters the steps read as params:<name>, with "
                                          "their defaults; a run may override only these, "
                                          "type-checked against the default.")
    executor: Literal["local", "dask"] = Field(
        default="local", description="Where the steps run; left out, dask when the environment "
                                     "names a dask_address.")
    dask_address: str | None = Field(
        default=None, description="Dask scheduler address; none starts a local cluster."
    )
    schedule: str | None = Field(default=None, description="Cron expression (UTC).")
    on_new_data: bool = Field(
        default=False, description="Run after an ingest lands a new version of a table it reads."
    )
    tuning: TuningConfig | None = Field(
        default=None, description="Optuna hyper-parameter search of the pipeline's model; "
                                  "none: no search.")


class ModelConfig(_Model):
    pipeline: str = Field(description="Pipeline that trains the model (a name under pipelines).")
    primary_metric: str = Field(
        description="Metric a champion-challenger comparison decides on: promote: auto needs "
                    "its gain's 95% interval above zero.")
    greater_is_better: bool | None = Field(
        default=None, description="Whether a higher primary metric is better. Each metric's "
                                  "direction is built in (roc_auc higher, rmse and log_loss "
                                  "lower): a value here is checked against it, never used "
                                  "instead of it.")
    gate: dict[str, str] = Field(
        default_factory=dict, description='Thresholds, e.g. {accuracy: ">= 0.75"}, or a '
        'multiple of a baseline on the same rows: {rmse: "<= 0.9 * mean"}.'
    )
    promote: Literal["manual", "auto"] = Field(
        default="manual", description="auto: a version that passed its gate is promoted when "
                                      "it beats production on the primary metric, or none is "
                                      "in production; manual: by 'shipyard models promote'.")
    compare_min_rows: Annotated[int, Field(ge=1)] = Field(
        default=50, description="Fewest rows (users, for a recommender) neither version was "
        "fitted on for a champion-challenger comparison; fewer is refused.")
    publish_on_promote: bool = Field(
        default=True, description="A recommender's promotion or rollback publishes the new "
        "production version's top-K at once (the default); false leaves it to `shipyard "
        "recommend`, and the move says which set is still served.")

    @field_validator("gate")
    @classmethod
    def _thresholds(cls, gate: dict[str, str]) -> dict[str, str]:
        baselines = {}
        for metric, rule in gate.items():
            match = _GATE_RULE.match(str(rule))
            if not match:
                raise ValueError(
                    f"{metric}: {rule!r} is not a threshold; write e.g. \">= 0.75\", or "
                    f"\">= 1.05 * popularity\" (a recommender) or \"<= 0.9 * mean\" (a "
                    f"regressor) for a multiple of a baseline's score on the same rows "
                    f"(operators >=, <=, >, <, ==)"
                )
            baselines[metric] = match.group(2)
        check_metrics(gate)
        for metric, baseline in baselines.items():
            kind = metric_kind(metric)
            if baseline is not None and BASELINES[baseline] != kind:
                raise ValueError(
                    f"{metric}: {gate[metric]!r} is a multiple of the {baseline} baseline, "
                    f"which only a {BASELINES[baseline]} is scored against; a {kind}'s "
                    f"threshold is a number"
                    + "".join(f" or a multiple of * {name}" for name, of in BASELINES.items()
                              if of == kind))
        return gate

    @field_validator("primary_metric")
    @classmethod
    def _known_metric(cls, metric: str) -> str:
        check_metrics([metric])
        return metric

    @model_validator(mode="after")
    def _one_kind_of_model(self) -> ModelConfig:
        check_metrics([self.primary_metric, *self.gate])
        built_in = greater_is_better(self.primary_metric)
        if self.greater_is_better is not None and self.greater_is_better != built_in:
            raise ValueError(
                f"greater_is_better: {str(self.greater_is_better).lower()} contradicts "
                f"{self.primary_metric}, for which {'higher' if built_in else 'lower'} is better; "
                "remove greater_is_better (each metric's direction is built in)")
        return self


class WebhookConfig(_Model):
    name: str = Field(description="Name of the webhook in logs and delivery reports.")
    kind: Literal["teams", "slack", "json"] = Field(
        description="Message format: a Teams Adaptive Card, a Slack Block Kit message, or the "
                    "event's fields as JSON.")
    url: str = Field(
        description="URL each event is POSTed to; it holds the secret, so logs show only its "
                    "scheme and host.")
    events: list[str] | None = Field(default=None, description="Events to send; default all.")
    timeout_s: Annotated[float, Field(gt=0)] = Field(
        default=5.0, description="Seconds one delivery attempt may take.")
    retries: Annotated[int, Field(ge=0, le=10)] = Field(
        default=3, description="Attempts after a failed one (timeout, network error, 429 or "
                               "5xx), with growing waits between them.")

    def wants(self, event: str) -> bool:
        return self.events is None or event in self.events


class AlertsConfig(_Model):
    webhooks: list[WebhookConfig] = Field(
        default_factory=list, description="Webhooks each event is sent to (those whose events "
                                          "include it).")


class ServingConfig(_Model):
    """``shipyard serve``: which models, and the limits that keep the server up under load."""

    models: list[str] | None = Field(
        default=None, description="Models to serve (their production version); default all.")
    recommender: str | None = Field(
        default="recommender", description="Model whose results back /v1/recommendations.")
    popularity_fallback: bool = Field(
        default=True, description="Unknown customers get the most popular products, not 404.")
    invocations_model: str | None = Field(
        default=None, description="Model MLflow's scoring protocol (POST /invocations) "
                                  "answers with; default the one classifier served (required "
                                  "when the server serves several).")
    max_body_bytes: Annotated[int, Field(gt=0)] = Field(
        default=1_048_576, description="Largest request body, in bytes, the server reads; a "
                                       "larger one gets 413.")
    max_rows: Annotated[int, Field(gt=0)] = Field(
        default=1000, description="Most rows one prediction request may carry, on every "
                                  "protocol; more are refused.")
    input_margin: Annotated[float, Field(ge=0, description=(
        "A numeric input is refused (422) beyond the range seen in training widened by this "
        "many times its width on either side: 1.0 takes ages 0-80 as -80 to 160. A model "
        "answers nonsense (or overflows) far outside what it learnt; values are refused, "
        "never clipped."))] = 1.0
    timeout_s: Annotated[float, Field(gt=0)] = Field(
        default=10.0, description="Seconds a request may take from its arrival, waiting "
                                  "included; then it gets 504.")
    max_concurrency: Annotated[int, Field(gt=0)] = Field(
        default=64, description="Requests in progress at once; more wait in the queue.")
    max_queue: Annotated[int, Field(ge=0)] = Field(
        default=256, description="Requests that may wait beyond max_concurrency; more get 503 "
                                 "with Retry-After at once.")
    batch_max_size: Annotated[int, Field(gt=0)] = Field(
        default=64, description="Most rows of concurrent predict requests scored in one model "
                                "call.")
    batch_max_wait_ms: Annotated[float, Field(ge=0)] = Field(
        default=2.0, description="Milliseconds a batch waits for more rows, only while other "
                                 "requests are on their way.")
    poll_s: Annotated[float, Field(gt=0)] = Field(
        default=2.0, description="Seconds between checks for a newly promoted version, which "
                                 "the server then loads by itself.")
    prediction_log: bool = Field(
        default=True, description="Append what each predict and recommendation request got "
                                  "to the lake's prediction log, which drift, rules and trace "
                                  "read.")
    shutdown_grace_s: Annotated[int, Field(gt=0, description=(
        "On SIGTERM, how long requests in flight may take to finish before they are cut; the "
        "prediction log is flushed after. Keep Kubernetes' grace period above it."))] = 20
    wrong_keys_burst: Annotated[int, Field(gt=0, description=(
        "Wrong API keys one client address may send at once; past them its keys get 429 with "
        "Retry-After until the allowance refills. Raise it when many clients share one "
        "address and a key rotation is under way."))] = 10
    wrong_keys_refill_s: Annotated[float, Field(gt=0, description=(
        "Seconds for one more wrong key to be allowed (6: ten a minute, sustained)."))] = 6.0


class InteractionColumns(_Model):
    """``monitoring.interactions``: where a recommender's interactions are in the lake's CLEAN
    layer (its requests carry only a customer id, so these are its monitored inputs, and the
    orders that land after a set was published are its outcomes). The defaults name the
    recommender example's tables."""

    table: str = Field(
        default="order_lines", description="CLEAN table of the order lines the recommender "
                                           "learns from.")
    customer: str = Field(
        default="customer_id", description="The interactions' column of the customer id.")
    product: str = Field(
        default="product_id", description="The interactions' column of the product id.")
    order: str = Field(
        default="order_id", description="The interactions' column of the order id.")
    date: str = Field(
        default="order_date", description="The interactions' column of the order date.")
    products: str | None = Field(
        default="products", description="CLEAN table of the catalogue; None: no category mix.")
    category: str = Field(
        default="category", description="The catalogue's column of a product's category.")
    product_name: str = Field(
        default="product_name", description="The catalogue's column a person knows a product "
                                            "by (the web UI's recommendation viewer).")
    quantity: str | None = Field(
        default="quantity", description="The interactions' column of how many were bought; "
                                        "None: each row counts one.")
    customers: str | None = Field(
        default="customers", description="table of the customers, searched by id or name in "
                                         "the web UI; None: search by id only.")
    customer_name: str = Field(
        default="customer_name", description="The customers table's column of a name, read "
                                             "from CLEAN, or from RAW when clean.pii keeps it "
                                             "out of CLEAN.")


RULE_KINDS: dict[str, str] = {
    "p99_latency_ms": "p99 of the logged prediction latency over `window`, in ms (target: model)",
    "error_rate": "share of logged requests of `window` that failed, HTTP 5xx (target: model)",
    "rejection_rate": "share of logged requests of `window` refused, HTTP 4xx: invalid rows, too "
                      "large (target: model)",
    "lake_age": "age of the lake's newest snapshot (threshold: a duration, e.g. 26h)",
    "run_age": "age of the last successful run of a pipeline (target: pipeline; threshold: 2d)",
    "failed_runs": "failed runs over `window` (target: pipeline, or every pipeline)",
    "quarantine_waiting": "batches waiting in quarantine (target: table, or every table)",
    "drift": "drift share of a served model over `window` (target: model; threshold: a share)",
    "losing_to_baseline": "consecutive newest published sets whose realised MAP@K fell below "
                          "the popularity baseline's on the same customers (target: "
                          "recommender; threshold: a number of periods, fires at it)",
}
"""The kinds of ``monitoring.rules``, with what each measures (shown when a kind is unknown)."""
_AGE_KINDS = ("lake_age", "run_age")
_SHARE_KINDS = ("error_rate", "rejection_rate", "drift")
_TARGET_NEEDED = ("p99_latency_ms", "error_rate", "rejection_rate", "run_age", "drift",
                  "losing_to_baseline")


class RuleConfig(_Model):
    """One entry of ``monitoring.rules``: it fires when the measured value exceeds ``threshold``.

    A value equal to the threshold fires for ages and counts (``lake_age: 0s`` always fires once
    the lake has data); ages take a duration (``26h``), the rest a number.
    """

    kind: str = Field(
        description="What the rule measures: p99_latency_ms, error_rate, rejection_rate, "
                    "lake_age, run_age, failed_runs, quarantine_waiting, drift or "
                    "losing_to_baseline.")
    threshold: float | str = Field(
        description="Value above which the rule fires (at which, for ages and counts): a "
                    "duration for lake_age and run_age, a share (0 to 1) for error_rate, "
                    "rejection_rate and drift, else a number.")
    target: str | None = Field(
        default=None, description="Model, pipeline or table the rule watches; without one, "
                                  "failed_runs and quarantine_waiting cover them all.")
    window: Duration | None = Field(
        default=None, description="Window of the rate, latency, count or drift [monitoring.window].")
    name: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_.:-]+$")] = Field(
        default=None, description="Name in tables, alerts and /metrics [kind, or kind:target].")

    @model_validator(mode="after")
    def _known(self) -> RuleConfig:
        if self.kind not in RULE_KINDS:
            import difflib

            close = difflib.get_close_matches(self.kind, RULE_KINDS, n=1)
            raise ValueError(f"unknown rule kind {self.kind!r}"
                             + (f" (did you mean {close[0]!r}?)" if close else "")
                             + f"; known kinds: {', '.join(RULE_KINDS)}")
        if self.kind in _TARGET_NEEDED and not self.target:
            raise ValueError(f"a {self.kind} rule needs a target: add 'target: ...' "
                             f"({RULE_KINDS[self.kind]})")
        if self.kind in _AGE_KINDS:
            try:
                parse_duration(str(self.threshold), zero=True)
            except ConfigError:
                raise ValueError(f"threshold of a {self.kind} rule is a duration: write e.g. "
                                 f"26h, 2d or 0s, not {self.threshold!r}") from None
        elif isinstance(self.threshold, str):
            example = "a share: 0.05 for 5%" if self.kind in _SHARE_KINDS else "a number"
            raise ValueError(f"threshold of the {self.kind} rule is a number, not "
                             f"{self.threshold!r}; write {example}")
        elif self.kind in _SHARE_KINDS and not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold of the {self.kind} rule is a share between 0 and 1 "
                             f"(0.05 for 5%), not {self.threshold:g}")
        return self

    @property
    def key(self) -> str:
        """The rule's name: ``name`` if given, else ``kind`` or ``kind:target``."""
        return self.name or (f"{self.kind}:{self.target}" if self.target else self.kind)


class OnDrift(_Model):
    """``monitoring.on_drift``: the pipeline to run when a drift rule starts firing.

    With the lake unchanged since the last run, the run's steps are reused from the cache and
    no new version is registered; ``no_cache: true`` retrains anyway.
    """

    run: Annotated[str, Field(pattern=_NAME)] = Field(
        description="Pipeline to run (a name under pipelines).")
    no_cache: bool = Field(default=False, description="Retrain even if the lake is unchanged.")


class ReportRetention(_Model):
    """``monitoring.reports``: how many monitoring reports (``drift-*``, ``outcomes-*``, JSON
    and page) are kept per model and kind, by count and by age; ``monitor compact`` and the
    scheduler's compaction remove the rest. The newest report of each is always kept."""

    keep: Annotated[int, Field(ge=1)] | None = Field(
        default=200, description="Newest reports kept per model and kind; null: no count limit.")
    days: Annotated[int, Field(ge=1)] | None = Field(
        default=90, description="Reports older than this many days are removed; null: no age "
                                "limit.")


class DriftThresholds(_Model):
    """When one column counts as drifted; ``monitoring.columns.<name>`` sets any of them for
    that column (a key left out takes the ``monitoring:`` value).

    The defaults come from the power table of ``benchmarks/drift_power.py`` (reference and
    current of 1,000 to 1,000,000 rows each, 30 seeds): a location shift of 0.1 standard
    deviation (KS D 0.04) and a scale change of ×1.2 (D 0.044) are found from 10,000 rows a
    window (0.1 sd in 28 of 30 seeds there, every seed from 100,000); 0.05 sd and ×1.1
    (D 0.02) are below what matters at large sizes; no unshifted column was flagged (180 per
    size, none at 1,000 rows either).
    """

    alpha: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.0001, description="Significance a test must reach, per test (a column has "
                                    "two: its values and its null rate). Far stricter than "
                                    "ingest validation's 0.01: every column of a model is "
                                    "tested at every check, and a 50-column model on unchanged "
                                    "data should alert in at most 1% of its checks.")
    min_effect: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.025, description="Least share of rows that moved: KS D for a number, total "
                                   "variation for a category (a new value holding 5% of the "
                                   "rows is 0.05).")
    min_null_h: Annotated[float, Field(ge=0)] = Field(
        default=0.1, description="Least change of the null rate, as Cohen's h (5% → 7.5% is "
                                 "0.11, 2% → 4% 0.12, 50% → 55% 0.10).")
    psi: Annotated[float, Field(gt=0)] = Field(
        default=0.2, description="PSI at which a significant shift counts whatever its effect "
                                 "(0.1 moderate, 0.2 large).")


class ColumnThresholds(_Model):
    """``monitoring.columns.<name>``: one column's own thresholds (the model's prediction is
    the column ``prediction``); the rest are ``monitoring:``'s."""

    alpha: Annotated[float | None, Field(gt=0, lt=1)] = Field(
        default=None, description="This column's alpha [monitoring.alpha].")
    min_effect: Annotated[float | None, Field(ge=0, le=1)] = Field(
        default=None, description="This column's min_effect [monitoring.min_effect].")
    min_null_h: Annotated[float | None, Field(ge=0)] = Field(
        default=None, description="This column's min_null_h [monitoring.min_null_h].")
    psi: Annotated[float | None, Field(gt=0)] = Field(
        default=None, description="This column's psi [monitoring.psi].")


class MonitoringSettings(DriftThresholds):
    """``monitoring:``: when a column of a served model counts as drifted, and the model too.

    A column drifts when its test (binned KS for numbers, chi-square for categories, and a
    chi-square of its null rate) is significant (p < ``alpha``) **and** the shift is large
    enough to matter: an effect (KS D or total variation at least ``min_effect``, Cohen's h of
    the null rate at least ``min_null_h``: none of them shrinks when one sample is much larger
    than the other) or a PSI of at least ``psi`` — the large-sample rule of ingest validation,
    since logs hold millions of rows. ``columns`` overrides any of these per column. The model
    drifts when at least ``drift_share`` of its input columns drift (Evidently's convention),
    or when its predictions do.
    """

    columns: dict[str, ColumnThresholds] = Field(
        default_factory=dict, description="Thresholds of single columns: {age: {min_effect: "
                                          "0.05}}.")
    drift_share: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.5, description="Least share of a model's input columns that must drift for "
                                 "the model to drift (its prediction drifting is enough).")
    window: Duration = Field(
        default="7d", description="Default length of the serving window: 30m, 12h, 7d, 2w.")

    def thresholds(self, column: str) -> DriftThresholds:
        """The thresholds ``column`` is judged by: its own where ``columns`` sets them."""
        own = self.columns.get(column)
        if own is None:
            return self
        mine = {k: v for k, v in own.model_dump().items() if v is not None}
        return DriftThresholds(**{k: getattr(self, k) for k in DriftThresholds.model_fields}
                               | mine)

    # recommender inputs and outcomes (monitor drift of a recommender, monitor outcomes)
    interactions: InteractionColumns = Field(default_factory=InteractionColumns)
    outcome_horizon: Duration = Field(
        default="31d", description="Orders counted as a published set's outcome: those dated "
                                   "up to this long after the data it was computed from (or "
                                   "until the next set computed from newer data).")

    # prediction log (monitor compact / trace): rows older than this are deleted by
    # 'shipyard monitor compact', and a trace looks back this far
    retention_days: Annotated[int, Field(ge=1)] = Field(
        default=30, description="Days the prediction and recommendation logs are kept.")
    reports: ReportRetention = Field(default_factory=ReportRetention)
    compact_every: Duration | None = Field(
        default="1d", description="How often 'shipyard scheduler' (and a deploy's CronJob) "
                                  "runs 'monitor compact': retention, then Delta's optimize "
                                  "and vacuum, and the reports' retention. By default daily "
                                  "in a project with models (their server appends small files "
                                  "all day); null turns it off.")


    # --- rules and alerts (issue 11: rules on the service and the pipelines) ---
    rules: list[RuleConfig] = Field(
        default_factory=list, description="Rules 'shipyard monitor check' evaluates and alerts on.")
    check_every: Duration | None = Field(
        default=None, description="How often 'shipyard scheduler' runs 'monitor check' (e.g. 15m).")
    on_drift: OnDrift | None = Field(
        default=None, description="What to do when a drift rule starts firing: {run: PIPELINE}.")


# --- deploy (issue 12: image, Kubernetes manifests, CI/CD workflows) ---
_CRON = r"^\s*(\S+\s+){4}\S+\s*$"
_QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$"


class ResourcesConfig(_Model):
    """Requests (what the scheduler reserves, and what the HPA's CPU percentage is of) and
    limits (where a container is throttled, or killed for memory) of one server container."""

    cpu_request: Annotated[str, Field(pattern=_QUANTITY)] = Field(
        default="500m", description="CPU reserved for the container (500m: half a core).")
    memory_request: Annotated[str, Field(pattern=_QUANTITY)] = Field(
        default="1Gi", description="Memory reserved for the container.")
    cpu_limit: Annotated[str, Field(pattern=_QUANTITY)] = Field(
        default="2", description="CPU beyond which the container is throttled.")
    memory_limit: Annotated[str, Field(pattern=_QUANTITY)] = Field(
        default="2Gi", description="Memory beyond which the container is killed.")


class AutoscalingConfig(_Model):
    """The HorizontalPodAutoscaler: replicas between ``min`` and ``max``, aiming at ``cpu``
    percent of the CPU request."""

    min: Annotated[int, Field(ge=1)] = Field(default=3, description="Fewest server replicas.")
    max: Annotated[int, Field(ge=1)] = Field(default=6, description="Most server replicas.")
    cpu: Annotated[int, Field(ge=1, le=100)] = Field(
        default=50, description="Target CPU utilisation, percent of the request.")

    @model_validator(mode="after")
    def _min_not_above_max(self) -> AutoscalingConfig:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class ScheduleConfig(_Model):
    """One CronJob: a ``shipyard`` command run on a cron schedule (UTC) in the server's image."""

    cron: Annotated[str, Field(pattern=_CRON)] = Field(description="Five-field cron (UTC).")
    command: str = Field(description="The shipyard command, e.g. 'run train' or 'monitor check'.")
    suspend: bool = Field(
        default=False, description="Write the CronJob suspended: Kubernetes starts none of its "
                                   "jobs until it is resumed.")


class DeployEnvironment(_Model):
    """What differs per environment in its Kubernetes overlay (the rest comes from ``deploy``)."""

    namespace: str | None = Field(default=None, description="Default: <project>-<env>.")
    ingress_host: str | None = Field(
        default=None, description="This environment's Ingress host [deploy.ingress_host].")
    autoscaling: AutoscalingConfig | None = None
    resources: ResourcesConfig | None = None


class DeployConfig(_Model):
    """``deploy:``: what ``shipyard deploy build`` writes into deploy/. Every key has a default
    that works; ``image`` names where CI pushes the image (default: the project's name)."""

    image: str | None = Field(default=None, description="Image name without tag, e.g. "
                                                        "ghcr.io/acme/shop [the project name].")
    tag: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")] = Field(
        default="v1", description="Image tag in the manifests; CI sets the commit's SHA.")
    base: str = Field(default="python:3.11-slim", description="Base image (build arg BASE).")
    requirements: list[str] = Field(
        default_factory=list, description="Extra pip requirements of the project's own code.")
    ci_setup: list[str] = Field(
        default_factory=list, description="Commands CI runs before ingesting, e.g. one that "
                                          "builds a test copy of the source database.")
    port: Annotated[int, Field(ge=1, le=65535)] = Field(
        default=8000, description="Port the server listens on in its container; the Service "
                                  "exposes it as port 80.")
    uid: Annotated[int, Field(ge=1000)] = Field(default=10001, description="Non-root UID.")
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig)
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig)
    schedules: dict[Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")],
                    ScheduleConfig] | None = Field(
        default=None, description="CronJobs by name; default: ingest, each model's training "
                                  "pipeline, recommend and monitor check, as the project has them.")
    ingress_host: str | None = Field(
        default=None, description="Host of an Ingress ({env} is the environment); none: no Ingress.")
    grace_period_s: Annotated[int, Field(ge=1)] = Field(
        default=30, description="Seconds a stopping pod has to finish its requests.")
    drain_s: Annotated[int, Field(ge=0)] = Field(
        default=5, description="Seconds a stopping pod keeps serving while endpoints drain.")
    kubernetes_version: Annotated[str, Field(pattern=r"^1\.[0-9]+\.[0-9]+$")] = Field(
        default="1.33.0", description="Kubernetes version the manifests are validated against.")
    environments: dict[str, DeployEnvironment] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _drain_within_grace(self) -> DeployConfig:
        if self.drain_s >= self.grace_period_s:
            raise ValueError(f"drain_s ({self.drain_s}) must be shorter than grace_period_s "
                             f"({self.grace_period_s}): the pod must have time left to finish")
        return self


class ProjectConfig(_Model):
    project: Annotated[str, Field(pattern=_NAME)] = Field(
        description="Name of the project: its MLflow experiment, the title of its web UI and "
                    "alerts, and (lower-cased) its image and Kubernetes names.")
    environments: dict[str, Environment]
    sources: dict[str, SourceConfig] = Field(
        default_factory=dict, description="Databases and files the tables are read from, by "
                                          "name.")
    tables: dict[Annotated[str, Field(pattern=_NAME)], TableConfig] = Field(
        default_factory=dict, description="Source tables each ingest lands in the lake's RAW "
                                          "and CLEAN layers, by name.")
    curated: dict[Annotated[str, Field(pattern=_NAME)], CuratedTable] = Field(
        default_factory=dict, description="CURATED tables, by name: DuckDB SQL over CLEAN, "
                                          "rebuilt when an input's version changes.")
    pipelines: dict[Annotated[str, Field(pattern=_NAME)], PipelineConfig] = Field(
        default_factory=dict, description="Pipelines 'shipyard run NAME' runs, by name."
    )
    models: dict[Annotated[str, Field(pattern=_NAME)], ModelConfig] = Field(
        default_factory=dict, description="Models the pipelines register, by name: the gate, "
                                          "comparison and promotion of their versions.")
    alerts: AlertsConfig = Field(
        default_factory=AlertsConfig, description="Where Shipyard sends its events.")
    serving: ServingConfig = Field(default_factory=ServingConfig)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    deploy: DeployConfig = Field(default_factory=DeployConfig)

    _unset_variables: dict[str, list[tuple[str, str]]] = PrivateAttr(default_factory=dict)
    """Per environment, the (setting, variable) pairs whose ``${VAR}`` was not set at load."""
    _named_variables: frozenset[str] = PrivateAttr(default=frozenset())

    def compact_every(self) -> str | None:
        """How often the logs are compacted (None: never).

        ``monitoring.compact_every`` as written, or its default (1d) when the project has
        models: their server appends a small file every second it is busy, and a day of them
        left alone is thousands of files to open on every read. A project without models has
        no log to compact, so its default schedules nothing.
        """
        if "compact_every" in self.monitoring.model_fields_set or self.models:
            return self.monitoring.compact_every
        return None

    def variables(self) -> dict[str, str]:
        """The values of the ``${VAR}`` the file names that this process has: what another
        process (a Dask worker) needs in its environment to open the project the same way."""
        import os

        return {name: os.environ[name] for name in sorted(self._named_variables)
                if name in os.environ}

    def require_environment(self, name: str) -> None:
        """Refuse to open environment ``name`` while a variable it names is unset.

        A store whose URL is missing is an error at start, never a fallback to some default.
        """
        missing = self._unset_variables.get(name, [])
        if missing:
            lines = "\n  ".join(f"{setting}: ${{{var}}}" for setting, var in missing)
            names = " ".join(sorted({var for _, var in missing}))
            raise ConfigError(
                f"environment {name!r} needs environment variables that are not set:\n  {lines}\n"
                f"export {names} (in Kubernetes: the Secret keys of the same names)"
            )

    @model_validator(mode="after")
    def _references_resolve(self) -> ProjectConfig:
        if not self.environments:
            raise ValueError("environments: declare at least one environment, e.g. 'dev'")
        references = [
            (f"tables.{name}.source", "source", table.source, self.sources)
            for name, table in self.tables.items()
        ] + [
            (f"models.{name}.pipeline", "pipeline", model.pipeline, self.pipelines)
            for name, model in self.models.items()
        ] + [
            (f"environments.{env}.sources.{name}", "source", name, self.sources)
            for env, environment in self.environments.items() for name in environment.sources
        ] + self._monitoring_references()
        for key, kind, value, declared in references:
            if value not in declared:
                known = ", ".join(sorted(declared)) or "none declared"
                raise ValueError(f"{key}: unknown {kind} {value!r}; declared {kind}s: {known}")
        overlap = set(self.tables) & set(self.curated)
        if overlap:
            raise ValueError(f"curated: names {sorted(overlap)} are already CLEAN table names")
        return self

    def _monitoring_references(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        """Targets of ``monitoring.rules`` and ``monitoring.on_drift.run`` that must exist."""
        declared: dict[str, tuple[str, dict[str, Any]]] = {
            "pipeline": ("pipeline", self.pipelines), "model": ("model", self.models),
            "table": ("table", self.tables)}
        wants = {"p99_latency_ms": "model", "error_rate": "model", "drift": "model",
                 "rejection_rate": "model",
                 "run_age": "pipeline", "failed_runs": "pipeline", "quarantine_waiting": "table"}
        found = [(f"monitoring.rules[{number}].target", *declared[wants[rule.kind]], rule.target)
                 for number, rule in enumerate(self.monitoring.rules)
                 if rule.target and rule.kind in wants]
        if self.monitoring.on_drift is not None:
            found.append(("monitoring.on_drift.run", "pipeline", self.pipelines,
                          self.monitoring.on_drift.run))
        return [(key, kind, value, names) for key, kind, names, value in found]

    @property
    def pii_columns(self) -> dict[str, str]:
        """Map of every PII column name to the table that declares it."""
        return {col: name for name, t in self.tables.items() for col in t.clean.pii}
