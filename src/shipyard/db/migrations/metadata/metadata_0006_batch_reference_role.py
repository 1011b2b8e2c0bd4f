"""Batches say how they count in later references: ``shipyard_batches.reference_role``.

A batch accepted from quarantine lands as an ``exception`` (left out of the reference later
batches are compared with) unless the person accepting it says it is the ``new_normal``.
Batches written before have none, and count as normal, as they did.

Revision ID: metadata_0006
Revises: metadata_0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "metadata_0006"
down_revision = "metadata_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shipyard_batches") as table:  # SQLite alters by copying
        table.add_column(sa.Column("reference_role", sa.String(20)))


def downgrade() -> None:
    with op.batch_alter_table("shipyard_batches") as table:
        table.drop_column("reference_role")
