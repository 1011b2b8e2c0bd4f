"""Batches know their ingest: ``shipyard_batches.ingest_id``.

An ingest lands all of its tables or none, so when one table's batch is rejected the others are
held back with it; accepting the rejected batch lands the whole ingest, and the batches of one
ingest are found by this id. Batches written before it have none (each is an ingest of its own).

Revision ID: metadata_0003
Revises: metadata_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "metadata_0003"
down_revision = "metadata_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shipyard_batches") as table:  # SQLite alters by copying
        table.add_column(sa.Column("ingest_id", sa.String(40)))
        table.create_index("ix_shipyard_batches_ingest_id", ["ingest_id"])


def downgrade() -> None:
    with op.batch_alter_table("shipyard_batches") as table:
        table.drop_index("ix_shipyard_batches_ingest_id")
        table.drop_column("ingest_id")
