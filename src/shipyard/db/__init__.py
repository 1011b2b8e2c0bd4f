"""SQLAlchemy engines for Shipyard's own stores and for sources.

SQLite is the embedded default and PostgreSQL the team-scale store; the same code runs on both.
SQLite gets WAL and a busy timeout so that concurrent Shipyard processes wait instead of failing.

A database that cannot be reached fails, wherever the engine is first used, with a
:class:`StoreUnreachable` naming the store, its URL without the password and the setting in
``shipyard.yaml`` to check, instead of a driver traceback.

Shipyard's own tables are created and upgraded by :func:`shipyard.db.migrate.migrate`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from shipyard.errors import ConfigError, StoreUnreachable
from shipyard.redact import redact_text, redact_url

__all__ = ["check_connection", "close_all", "configured_at", "create_engine_for", "redact", "unreachable",
           "where_configured"]

CONNECT_TIMEOUT_S = 10
"""A PostgreSQL server that does not answer fails after this long instead of the OS's minutes."""

_settings: dict[str, str] = {}


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    return redact_url(url)


def configured_at(url: str, setting: str) -> None:
    """Note where ``url`` is configured (``environments.dev.metadata_db``), for error messages."""
    _settings[url] = setting


def where_configured(url: str) -> str:
    """Where to correct ``url``, for error messages: its setting if known."""
    setting = _settings.get(url)
    return f"{setting} in shipyard.yaml" if setting else "its URL in shipyard.yaml"


def unreachable(purpose: str, url: str, reason: BaseException | str) -> StoreUnreachable:
    """The error for a store that does not answer: which store, where, why, and the fix."""
    text = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    where = where_configured(url)
    fix = ("Check that its folder exists and is writable" if url.startswith("sqlite")
           else "Start that server")
    return StoreUnreachable(
        f"{purpose}: cannot reach {redact_url(url)}: {redact_text(text)}. {fix}, or correct "
        f"{where}."
    )


def _connect_failed(purpose: str, url: str) -> Callable[[ExceptionContext], None]:
    def handle_error(context: ExceptionContext) -> None:
        error = context.original_exception
        dbapi = context.dialect.loaded_dbapi
        connecting = context.connection is None or context.is_disconnect
        if connecting and isinstance(error, dbapi.OperationalError):
            raise unreachable(purpose, url, error) from None
    return handle_error


def create_engine_for(url: str, *, purpose: str) -> Engine:
    """Create an engine, turning a malformed URL into an error that names ``purpose``.

    Failing to connect, now or later, raises :class:`StoreUnreachable` naming ``purpose``.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"{purpose}: {redact_url(url)!r} is not a SQLAlchemy URL; expected e.g. "
            f"sqlite:///file.db or postgresql+psycopg://user@host:5432/db"
        ) from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if "connect_timeout" not in parsed.query:
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as error:
        raise ConfigError(f"{purpose}: no driver for {parsed.drivername!r} ({error})") from None
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    sa.event.listen(engine, "handle_error", _connect_failed(purpose, url))
    _ENGINES.add(engine)
    return engine


_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def close_all() -> None:
    """Close the pooled connections of every engine made here.

    A process that leaves without Python's teardown (the CLI, see ``cli.main``) calls this so
    that SQLite checkpoints its WAL into the database file on the last close, as it would at a
    normal exit, instead of leaving ``*.db-wal`` beside it.
    """
    for engine in list(_ENGINES):
        engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL syncs at checkpoints rather than at every commit: a crash of the
    # process loses nothing, a power cut at most the last commits; never a corrupt file.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def check_connection(engine: Engine, *, purpose: str) -> None:
    """Fail early, naming the database and the fix, when a database cannot be reached.

    An engine of :func:`create_engine_for` raises :class:`StoreUnreachable` by itself; any
    other engine's failure is turned into the same error here.
    """
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except OperationalError as error:
        url = engine.url.render_as_string(hide_password=False)
        raise unreachable(purpose, url, error.orig or error) from None

