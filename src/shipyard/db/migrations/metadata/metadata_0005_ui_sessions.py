"""Web UI sessions: who is signed in, shared by every server of the metadata database.

In one server's memory a session worked only through that server and ended with it; behind a
Service with several servers, a browser's next request may reach another. The session's token
is kept only as its SHA-256 digest, so whoever reads the table cannot sign in with it.

Revision ID: metadata_0005
Revises: metadata_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "metadata_0005"
down_revision = "metadata_0004"
branch_labels = None
depends_on = None

tables = sa.MetaData()
"""The tables of this revision, frozen: later changes to a store's tables are later revisions."""

sa.Table(
    "shipyard_ui_sessions",
    tables,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("key_sha256", sa.String(64), nullable=False),
    sa.Column("csrf_token", sa.String(100), nullable=False),
    sa.Column("flash", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
)


def upgrade() -> None:
    tables.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    tables.drop_all(op.get_bind())
