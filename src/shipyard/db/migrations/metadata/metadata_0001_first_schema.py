"""The metadata database as the releases before migrations made it.

Batch register, run and step records, schedule slots and the model audit trail, exactly as
``create_all`` made them (commit 9dc5436). Those releases created each store's tables when the
store was first opened, so an older database may hold only some of them: the missing ones are
created, the present ones left as they are.

Revision ID: metadata_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "metadata_0001"
down_revision = None
branch_labels = None
depends_on = None

tables = sa.MetaData()
"""The tables of this revision, frozen: later changes to a store's tables are later revisions."""

sa.Table(
    "shipyard_batches",
    tables,
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
)
sa.Table(
    "shipyard_runs",
    tables,
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
sa.Table(
    "shipyard_step_runs",
    tables,
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
sa.Table(
    "shipyard_schedule_slots",
    tables,
    sa.Column("pipeline", sa.String(200), primary_key=True),
    sa.Column("trigger", sa.String(20), primary_key=True),
    sa.Column("slot", sa.String(500), primary_key=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("run_id", sa.String(100)),
    sa.Column("message", sa.Text),
)
sa.Table(
    "shipyard_model_audit",
    tables,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(200), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
)


def upgrade() -> None:
    tables.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    tables.drop_all(op.get_bind())
