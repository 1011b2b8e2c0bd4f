"""SQLAlchemy engines for Shipyard's own stores and for sources.

SQLite is the embedded default and PostgreSQL the team-scale store; the same code runs on both.
SQLite gets WAL and a busy timeout so that concurrent Shipyard processes wait instead of failing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from shipyard.errors import ConfigError, SourceError

__all__ = ["check_connection", "create_engine_for", "create_tables", "redact"]


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def create_engine_for(url: str, *, purpose: str) -> Engine:
    """Create an engine, turning a malformed URL into an error that names ``purpose``."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"{purpose}: {url!r} is not a SQLAlchemy URL; expected e.g. sqlite:///file.db "
            f"or postgresql+psycopg://user@host:5432/db"
        ) from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as error:
        raise ConfigError(f"{purpose}: no driver for {parsed.drivername!r} ({error})") from None
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL syncs at checkpoints rather than at every commit: a crash of the
    # process loses nothing, a power cut at most the last commits; never a corrupt file.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def check_connection(engine: Engine, *, purpose: str) -> None:
    """Fail early, naming the database and the fix, when a database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise SourceError(
            f"{purpose}: cannot connect to {redact(str(engine.url))}: {reason}. "
            f"Check that the server is running and the URL in shipyard.yaml is right."
        ) from None


def create_tables(engine: Engine, metadata: sa.MetaData) -> None:
    """Create Shipyard's tables if missing, safely when several processes start at once.

    Two processes can both see a table missing and both create it; the loser's error is
    harmless, so the creation is simply checked again.
    """
    for attempt in range(3):
        try:
            metadata.create_all(engine)
            return
        except DBAPIError:
            if attempt == 2:
                raise
