"""Monitoring states: the last state of each rule and of each model's drift, and what was alerted.

``shipyard monitor check`` and ``monitor drift`` alert once per change of state (an episode
starts firing, an episode ends), so the state must outlive the process; the server reads the
same rows to export ``shipyard_rule_firing`` and ``shipyard_drift_share`` on ``/metrics``.

Revision ID: metadata_0004
Revises: metadata_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "metadata_0004"
down_revision = "metadata_0003"
branch_labels = None
depends_on = None

tables = sa.MetaData()
"""The tables of this revision, frozen: later changes to a store's tables are later revisions."""

sa.Table(
    "shipyard_monitor_states",
    tables,
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


def upgrade() -> None:
    tables.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    tables.drop_all(op.get_bind())
