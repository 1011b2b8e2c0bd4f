"""The results database as the releases before migrations made it (commit 9dc5436).

Recommendation sets, their rows and the pointer to each model's current set. A database made
by ``create_all`` before migrations holds all three or none, but is handled as the metadata
database is: missing tables are created, present ones left as they are.

Revision ID: results_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "results_0001"
down_revision = None
branch_labels = None
depends_on = None

tables = sa.MetaData()
"""The tables of this revision, frozen: later changes to a store's tables are later revisions."""

sa.Table(
    "shipyard_recommendation_sets",
    tables,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("k", sa.Integer, nullable=False),
    sa.Column("customers", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Table(
    "shipyard_recommendations",
    tables,
    sa.Column("set_id", sa.String(40), nullable=False),
    sa.Column("customer_id", sa.String(200), nullable=False),
    sa.Column("products", sa.Text, nullable=False, comment="JSON list, best first"),
    sa.Column("scores", sa.Text, nullable=False, comment="JSON list, aligned with products"),
    sa.PrimaryKeyConstraint("set_id", "customer_id"),
)
sa.Table(
    "shipyard_recommendations_current",
    tables,
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("set_id", sa.String(40), nullable=False),
)


def upgrade() -> None:
    tables.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    tables.drop_all(op.get_bind())
