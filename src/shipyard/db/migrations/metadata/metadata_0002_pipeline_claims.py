"""Claims of pipeline runs started over REST: one row per pipeline while its run is alive.

The runs' new status ``registering`` needs no change: statuses are free text.

Revision ID: metadata_0002
Revises: metadata_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "metadata_0002"
down_revision = "metadata_0001"
branch_labels = None
depends_on = None

tables = sa.MetaData()
"""The tables of this revision, frozen: later changes to a store's tables are later revisions."""

sa.Table(
    "shipyard_pipeline_claims",
    tables,
    sa.Column("pipeline", sa.String(200), primary_key=True),
    sa.Column("run_id", sa.String(120), nullable=False, unique=True),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("server_pid", sa.Integer, nullable=False),
    sa.Column("child_pid", sa.Integer),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
)


def upgrade() -> None:
    # Present already where a development build of this release made it with create_all.
    tables.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    tables.drop_all(op.get_bind())
