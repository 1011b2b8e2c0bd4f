"""Typed models of ``shipyard.yaml``.

The file is parsed once into these models so that every later part of Shipyard works on checked,
typed values; a bad file fails here, naming the key path, the bad value and what is allowed.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "CLEAN_TYPES",
    "EVENTS",
    "AlertsConfig",
    "CleanRules",
    "CleanType",
    "ColumnExpectations",
    "CuratedTable",
    "DistributionSettings",
    "Environment",
    "ProjectConfig",
    "SourceConfig",
    "TableConfig",
    "ValidationSettings",
    "WebhookConfig",
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
)
"""Events that can be sent to webhooks; later parts of the lifecycle add their own."""

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Model(BaseModel):
    # Unknown keys are errors: a typo in a key must not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Environment(_Model):
    """Where one environment keeps its stores. Relative paths are under the project folder."""

    lake: str = Field(description="Lake root: a folder or an object store URL (s3://, az://, gs://).")
    state: str = Field(
        default=".shipyard/{env}",
        description="Folder for staging, quarantine and reports of this environment.",
    )
    metadata_db: str = Field(
        default="sqlite:///.shipyard/{env}/metadata.db",
        description="SQLAlchemy URL of the runs, batches and audit store.",
    )
    tracking_uri: str = Field(default="sqlite:///.shipyard/{env}/mlflow.db")
    results_db: str = Field(default="sqlite:///.shipyard/{env}/results.db")
    storage_options: dict[str, str] = Field(default_factory=dict)


class SourceConfig(_Model):
    url: str = Field(description="SQLAlchemy URL of the source database.")
    chunk_rows: Annotated[int, Field(gt=0)] = 100_000


class CleanRules(_Model):
    rename: dict[str, str] = Field(default_factory=dict)
    types: dict[str, CleanType] = Field(default_factory=dict)
    pii: list[str] = Field(default_factory=list)


class ColumnExpectations(_Model):
    not_null: bool = False
    unique: bool = False
    min: float | None = None
    max: float | None = None
    allowed: list[str | int | float | bool] | None = None

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

    enabled: bool = True
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.01
    min_effect: Annotated[float, Field(ge=0, le=1)] = 0.1
    sample_rows: Annotated[int, Field(ge=100)] = 20_000
    max_categories: Annotated[int, Field(ge=2)] = 50
    columns: list[str] | None = Field(
        default=None, description="Columns to test; default every numeric and low-cardinality one."
    )
    ignore: list[str] = Field(default_factory=list)


class ValidationSettings(_Model):
    distribution: DistributionSettings = Field(default_factory=DistributionSettings)
    expectations: dict[str, ColumnExpectations] = Field(default_factory=dict)


class TableConfig(_Model):
    source: str
    table: str | None = None
    query: str | None = None
    mode: Literal["snapshot", "incremental"] = "snapshot"
    watermark: str | None = None
    primary_key: list[str] = Field(default_factory=list)
    clean: CleanRules = Field(default_factory=CleanRules)
    validation: ValidationSettings = Field(default_factory=ValidationSettings)

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
    description: str = ""


class WebhookConfig(_Model):
    name: str
    kind: Literal["teams", "slack", "json"]
    url: str
    events: list[str] | None = Field(default=None, description="Events to send; default all.")
    timeout_s: Annotated[float, Field(gt=0)] = 5.0
    retries: Annotated[int, Field(ge=0, le=10)] = 3

    def wants(self, event: str) -> bool:
        return self.events is None or event in self.events


class AlertsConfig(_Model):
    webhooks: list[WebhookConfig] = Field(default_factory=list)


class ProjectConfig(_Model):
    project: Annotated[str, Field(pattern=_NAME)]
    environments: dict[str, Environment]
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    tables: dict[Annotated[str, Field(pattern=_NAME)], TableConfig] = Field(default_factory=dict)
    curated: dict[Annotated[str, Field(pattern=_NAME)], CuratedTable] = Field(default_factory=dict)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)

    @model_validator(mode="after")
    def _references_resolve(self) -> ProjectConfig:
        if not self.environments:
            raise ValueError("environments: declare at least one environment, e.g. 'dev'")
        for name, table in self.tables.items():
            if table.source not in self.sources:
                known = ", ".join(sorted(self.sources)) or "none declared"
                raise ValueError(
                    f"tables.{name}.source: unknown source {table.source!r}; "
                    f"declared sources: {known}"
                )
        overlap = set(self.tables) & set(self.curated)
        if overlap:
            raise ValueError(f"curated: names {sorted(overlap)} are already CLEAN table names")
        return self

    @property
    def pii_columns(self) -> dict[str, str]:
        """Map of every PII column name to the table that declares it."""
        return {col: name for name, t in self.tables.items() for col in t.clean.pii}
