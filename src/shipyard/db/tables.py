"""Shipyard's own tables, all in one place: the schema its Alembic chains migrate to.

Two chains (:mod:`shipyard.db.migrate`), each with its own :class:`~sqlalchemy.MetaData`,
because they may live in two databases: the metadata database's tables (batches, runs and their
steps, schedule slots, the model audit, pipeline claims, monitor states, UI sessions) and the
results database's (recommendation sets, which the server reads). The store that reads and
writes a table (named above it) imports it from here. A change to a table is a new revision in
``migrations/<chain>/`` too: the unit tests compare the migrated schema with these tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from shipyard.db.migrate import Chain

__all__ = [
    "CHAINS", "METADATA_CHAIN", "RESULTS_CHAIN", "batches", "model_audit", "monitor_states",
    "pipeline_claims", "recommendation_sets", "recommendations", "recommendations_current",
    "runs", "schedule_slots", "step_runs", "ui_sessions",
]

METADATA_CHAIN = sa.MetaData()
"""The metadata database's tables."""
RESULTS_CHAIN = sa.MetaData()
"""The results database's tables."""
CHAINS: dict[Chain, sa.MetaData] = {"metadata": METADATA_CHAIN, "results": RESULTS_CHAIN}

# the batch register (shipyard.lake.batches.BatchRegister)
batches = sa.Table(
    "shipyard_batches",
    METADATA_CHAIN,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("table_name", sa.String(200), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("rows", sa.BigInteger),
    sa.Column("source_query", sa.Text),
    sa.Column("watermark_from", sa.Text),
    sa.Column("watermark_to", sa.Text),
    sa.Column("content_hash", sa.String(100)),
    sa.Column("schema_json", sa.Text),
    sa.Column("staged_path", sa.Text),
    sa.Column("report_path", sa.Text),
    sa.Column("summary", sa.Text),
    sa.Column("raw_version", sa.Integer),
    sa.Column("clean_version", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("accepted_by", sa.String(200)),
    sa.Column("accept_reason", sa.Text),
    sa.Column("ingest_id", sa.String(40), index=True),
    sa.Column("reference_role", sa.String(20)),
)

# the run records (shipyard.tracking.records.RunStore)
runs = sa.Table(
    "shipyard_runs",
    METADATA_CHAIN,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("pipeline", sa.String(200), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("duration_s", sa.Float),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("executor", sa.String(20), nullable=False),
    sa.Column("env", sa.String(100), nullable=False),
    sa.Column("git_commit", sa.String(64)),
    sa.Column("git_dirty", sa.Boolean),
    sa.Column("data_versions", sa.Text, nullable=False),
    sa.Column("smoke", sa.Boolean, nullable=False),
    sa.Column("sample", sa.Float),
    sa.Column("no_cache", sa.Boolean, nullable=False),
    sa.Column("resumed_from", sa.String(120)),
    sa.Column("error", sa.Text),
    sa.Column("traceback", sa.Text),
    sa.Column("mlflow_run_id", sa.String(64)),
    sa.Column("tracking_uri", sa.Text),
    sa.Column("snapshot_path", sa.Text),
    sa.Column("environment", sa.Text),
    sa.Column("host", sa.String(200)),
    sa.Column("pid", sa.Integer),
    sa.Column("run_by", sa.String(200)),
)

step_runs = sa.Table(
    "shipyard_step_runs",
    METADATA_CHAIN,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(120), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("step", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("duration_s", sa.Float),
    sa.Column("fingerprint", sa.String(64), index=True),
    sa.Column("cache_key", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("reused_from", sa.String(120)),
    sa.Column("outputs", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("traceback", sa.Text),
    sa.Column("mlflow_run_id", sa.String(64)),
    sa.UniqueConstraint("run_id", "step", name="uq_shipyard_step_runs_run_step"),
)

# the scheduler's slots (shipyard.scheduler.slots.SlotStore)
schedule_slots = sa.Table(
    "shipyard_schedule_slots",
    METADATA_CHAIN,
    sa.Column("pipeline", sa.String(200), primary_key=True),
    sa.Column("trigger", sa.String(20), primary_key=True),  # cron | new_data
    sa.Column("slot", sa.String(500), primary_key=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # running | succeeded | failed | rejected
    sa.Column("run_id", sa.String(100)),
    sa.Column("message", sa.Text),
)

# the model audit trail (shipyard.registry.audit.AuditTrail)
model_audit = sa.Table(
    "shipyard_model_audit",
    METADATA_CHAIN,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(200), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
)

# one triggered run per pipeline (shipyard.serving.pipeline_runs.claims.RunClaims)
pipeline_claims = sa.Table(
    "shipyard_pipeline_claims",
    METADATA_CHAIN,
    sa.Column("pipeline", sa.String(200), primary_key=True),
    sa.Column("run_id", sa.String(120), nullable=False, unique=True),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("server_pid", sa.Integer, nullable=False),
    sa.Column("child_pid", sa.Integer),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
)

# the rules' alert states (shipyard.monitoring.states.MonitorStates)
monitor_states = sa.Table(
    "shipyard_monitor_states",
    METADATA_CHAIN,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("subject", sa.String(200)),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("alerted", sa.String(10), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("detail", sa.Text),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
)

# the web UI's sessions (shipyard.ui.session_store.SessionStore)
ui_sessions = sa.Table(
    "shipyard_ui_sessions",
    METADATA_CHAIN,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("key_sha256", sa.String(64), nullable=False),
    sa.Column("csrf_token", sa.String(100), nullable=False),
    sa.Column("flash", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
)

# the recommendation sets (shipyard.batch.results.ResultsStore)
recommendation_sets = sa.Table(
    "shipyard_recommendation_sets", RESULTS_CHAIN,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("k", sa.Integer, nullable=False),
    sa.Column("customers", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

recommendations = sa.Table(
    "shipyard_recommendations", RESULTS_CHAIN,
    sa.Column("set_id", sa.String(40), nullable=False),
    sa.Column("customer_id", sa.String(200), nullable=False),
    sa.Column("products", sa.Text, nullable=False, comment="JSON list, best first"),
    sa.Column("scores", sa.Text, nullable=False, comment="JSON list, aligned with products"),
    sa.PrimaryKeyConstraint("set_id", "customer_id"),
)

recommendations_current = sa.Table(
    "shipyard_recommendations_current", RESULTS_CHAIN,
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("set_id", sa.String(40), nullable=False),
)
