"""SQLAlchemy engines for Shipyard's own stores and for sources.

SQLite is the embedded default and PostgreSQL the team-scale store; the same code runs on both.
SQLite gets WAL and a busy timeout so that concurrent Shipyard processes wait instead of failing.

A database that cannot be reached fails, wherever the engine is first used, with a
:class:`StoreUnreachable` naming the store, its URL without the password and the setting in
``shipyard.yaml`` to check, instead of a driver traceback. A server that answers but lacks the
database fails with :class:`DatabaseMissing` instead: starting the server would not help.

Shipyard's own PostgreSQL stores (metadata, results, MLflow's tracking store) are created by
:func:`ensure_database` when missing, so that a new environment works from its configuration
alone, as SQLite files do; where the role may not create databases, the error says how to.

Shipyard's own tables are created and upgraded by :func:`shipyard.db.migrate.migrate`.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, ProgrammingError

from shipyard.errors import ConfigError, DatabaseMissing, StoreUnreachable
from shipyard.redact import redact_text, redact_url

__all__ = ["check_connection", "close_all", "configured_at", "create_engine_for", "ensure_database",
           "redact", "unreachable", "where_configured"]

logger = logging.getLogger(__name__)

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


def _first_line(reason: BaseException | str) -> str:
    return str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__


def _server(url: URL) -> str:
    """``host:port`` of a server URL, for messages (PostgreSQL's defaults filled in)."""
    port = url.port or (5432 if url.get_backend_name() == "postgresql" else None)
    host = url.host or "localhost"
    return f"{host}:{port}" if port else host


def unreachable(purpose: str, url: str, reason: BaseException | str) -> StoreUnreachable:
    """The error for a store that does not answer: which store, where, why, and the fix."""
    where = where_configured(url)
    if url.startswith("sqlite"):
        fix = "Check that its folder exists and is writable"
    else:
        try:
            fix = f"Start the server at {_server(make_url(url))}"
        except ArgumentError:
            fix = "Start that server"
    return StoreUnreachable(
        f"{purpose}: cannot reach {redact_url(url)}: {redact_text(_first_line(reason))}. {fix}, "
        f"or correct {where}."
    )


_NO_DATABASE = re.compile(r'database "[^"]*" does not exist')
"""PostgreSQL's refusal of a connection to a missing database (SQLSTATE 3D000, which the
driver does not expose for a failed connection, so the server's text is matched)."""


def missing_database(purpose: str, url: URL, reason: str = "") -> DatabaseMissing:
    """The error for a server that answers but has no such database: what to create, and how."""
    name, server = url.database or "", _server(url)
    host, _, port = server.partition(":")
    owner = f" -O {url.username}" if url.username else ""
    owner_sql = f' OWNER "{url.username}"' if url.username else ""
    why = f" ({redact_text(reason)})" if reason else ""
    shown = url.render_as_string(hide_password=False)
    return DatabaseMissing(
        f"{purpose}: database {name!r} does not exist on the PostgreSQL server at {server}{why}. "
        f"Create it as a role allowed to create databases: 'createdb -h {host} -p {port}{owner} "
        f"{name}' (or the SQL 'CREATE DATABASE \"{name}\"{owner_sql};'), or correct "
        f"{where_configured(shown)}."
    )


def _connect_failed(purpose: str, url: str) -> Callable[[ExceptionContext], None]:
    def handle_error(context: ExceptionContext) -> None:
        error = context.original_exception
        dbapi = context.dialect.loaded_dbapi
        connecting = context.connection is None or context.is_disconnect
        if connecting and isinstance(error, dbapi.OperationalError):
            if _NO_DATABASE.search(str(error)):
                raise missing_database(purpose, make_url(url)) from None
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
            if url in _settings:  # errors quoting the engine's URL still name the setting
                configured_at(parsed.render_as_string(hide_password=False), _settings[url])
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


_ensured: set[str] = set()


def ensure_database(engine: Engine, *, purpose: str) -> None:
    """Create the PostgreSQL database of ``engine`` if the server lacks it, saying so.

    For Shipyard's own stores only (never a source, whose data would be missing anyway). The
    database is made through the server's ``postgres`` maintenance database with the same
    role; when that role may not create it, :class:`DatabaseMissing` (exit 2) names the
    database, the server and the ``createdb`` line that makes it. Once per process and URL;
    the probe's connection goes back to the engine's pool for the store's first use.
    """
    url = engine.url
    key = url.render_as_string(hide_password=False)
    if url.get_backend_name() != "postgresql" or key in _ensured:
        return
    try:
        with engine.connect():
            pass
    except DatabaseMissing:
        _create_database(url, key, purpose)
    _ensured.add(key)


def _create_database(url: URL, shown: str, purpose: str) -> None:
    name = url.database or ""
    admin = create_engine_for(url.set(database="postgres").render_as_string(hide_password=False),
                              purpose=f"{purpose} (maintenance database 'postgres')")
    try:
        with admin.connect() as conn:
            quoted = admin.dialect.identifier_preparer.quote(name)
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                f"CREATE DATABASE {quoted}")
    except (ProgrammingError, OperationalError) as error:  # lacking CREATEDB, template busy,
        if getattr(error.orig, "sqlstate", None) != "42P04":  # or another process was first
            raise missing_database(purpose, url, _first_line(error.orig or error)) from None
    except (StoreUnreachable, DatabaseMissing) as error:  # no 'postgres' database to work from
        raise missing_database(purpose, url, str(error)) from None
    else:
        logger.warning("%s: database %r did not exist on the PostgreSQL server at %s; created it "
                       "(%s)", purpose, name, _server(url), where_configured(shown))
    finally:
        admin.dispose()
