"""Shipyard's own tables, brought to this release's schema by Alembic when a store first opens.

``create_all`` never changes a table that exists, so a team's PostgreSQL made by one release
would never get the next release's columns. Each store instead calls :func:`migrate` with its
engine; the first call per process and database upgrades the schema to ``head``, later calls
return at once.

Two chains, each with its own Alembic version table, because they are two stores that may live
in two databases or in one: ``metadata`` (batches, runs, steps, slots, audit, pipeline claims)
and ``results`` (recommendation sets, which the server reads). Neither version table is called
``alembic_version``: MLflow keeps its own there, and a team may give MLflow and Shipyard one
PostgreSQL database.

Concurrent first use is safe: the version check, the stamp of an older database and the upgrade
run in one transaction under a lock, an advisory lock on PostgreSQL and the write lock of
``BEGIN IMMEDIATE`` on SQLite; whoever waits finds the schema current and does nothing.

A database made by a release before migrations has the tables but no version table: it is
stamped at the newest revision whose tables it holds in full, with their columns, and upgraded
from there. A new revision goes into ``migrations/<chain>/``; write it by hand or generate it
with ``alembic.command.revision(alembic_config(chain), message, autogenerate=True)`` after
putting a connection and the chain's tables (``shipyard.db.tables.CHAINS[chain]``, as
``target_metadata``) into the config's ``attributes``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import ModuleType
from typing import Literal

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from shipyard.db import where_configured
from shipyard.errors import ConfigError
from shipyard.redact import redact_url

__all__ = ["VERSION_TABLES", "Chain", "alembic_config", "migrate"]

Chain = Literal["metadata", "results"]

VERSION_TABLES: dict[Chain, str] = {
    "metadata": "shipyard_alembic_version",
    "results": "shipyard_results_alembic_version",
}

_MIGRATIONS = Path(__file__).parent / "migrations"
_ADVISORY_LOCK = 0x5348_4950_5941_5244
"""PostgreSQL advisory lock key of Shipyard's schema upgrades ("SHIPYARD" in ASCII)."""

_current: set[tuple[str, Chain]] = set()
_in_process = threading.Lock()


def alembic_config(chain: Chain) -> Config:
    """Alembic's configuration of ``chain``: no ``alembic.ini``, the scripts ship in the package."""
    config = Config()
    location = str(_MIGRATIONS).replace("%", "%%")
    config.set_main_option("script_location", location)
    config.set_main_option("path_separator", "os")  # a folder with a space is one folder
    config.set_main_option("version_locations", f"{location}/{chain}")
    config.attributes["version_table"] = VERSION_TABLES[chain]
    return config


def migrate(engine: Engine, chain: Chain) -> None:
    """Bring ``chain``'s tables in ``engine``'s database to this release's schema.

    Done once per process and database; an in-memory SQLite database is a new one per engine,
    so it is checked every time.
    """
    url = engine.url
    key = (url.render_as_string(hide_password=False), chain)
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    with _in_process:
        if key in _current and not in_memory:
            return
        _upgrade(engine, chain)
        _current.add(key)


def _upgrade(engine: Engine, chain: Chain) -> None:
    config = alembic_config(chain)
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    with engine.connect() as conn:
        if _revision(conn, chain, script) == head:  # the usual case, without taking the lock
            return
        conn.rollback()
        _lock(conn)
        config.attributes["connection"] = conn
        current = _revision(conn, chain, script)
        if current is None:
            stamp = _stamp_of_older_release(conn, chain, script)
            if stamp is not None:
                command.stamp(config, stamp)
        command.upgrade(config, "head")
        conn.commit()


def _revision(conn: Connection, chain: Chain, script: ScriptDirectory) -> str | None:
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLES[chain]})
    revision = context.get_current_revision()
    if revision is not None and revision not in {r.revision for r in script.walk_revisions()}:
        url = conn.engine.url.render_as_string(hide_password=False)
        raise ConfigError(
            f"{chain} database {redact_url(url)} has schema revision {revision!r}, which this "
            f"Shipyard does not know (its newest is {script.get_current_head()!r}): a newer "
            f"Shipyard upgraded it. Upgrade Shipyard, or correct {where_configured(url)}."
        )
    return revision


def _lock(conn: Connection) -> None:
    """Hold the database's schema lock until the transaction ends."""
    backend = conn.dialect.name
    if backend == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
    elif backend == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    # Elsewhere the version table's own row is the lock: a racing upgrade fails, never corrupts.


def _stamp_of_older_release(conn: Connection, chain: Chain, script: ScriptDirectory) -> str | None:
    """The revision a database made by ``create_all``, before migrations, already has.

    The newest revision whose tables, and those of every revision before it, are all present;
    the revisions of that time declare them in ``tables``. Those releases created a store's
    tables only when it was first used, so a database may hold some of them: the revisions
    after the stamp create the missing ones and leave the others. A table whose columns are
    not those of its revision was made by something else, and is not touched.
    """
    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names())
    stamp: str | None = None
    complete = True
    for revision in reversed(list(script.walk_revisions())):  # oldest first
        tables = _tables_of(revision.module)
        if tables is None:
            break
        for table in tables.tables.values():
            if table.name not in present:
                complete = False
                continue
            found = {column["name"] for column in inspector.get_columns(table.name)}
            expected = {column.name for column in table.columns}
            if found != expected:
                raise _unknown_table(conn, chain, table.name, found, expected)
        if complete:
            stamp = revision.revision
    return stamp


def _tables_of(module: ModuleType) -> sa.MetaData | None:
    tables = getattr(module, "tables", None)
    return tables if isinstance(tables, sa.MetaData) else None


def _unknown_table(conn: Connection, chain: Chain, table: str, found: set[str],
                   expected: set[str]) -> ConfigError:
    url = conn.engine.url.render_as_string(hide_password=False)
    differences = [f"{label} {', '.join(sorted(names))}"
                   for label, names in (("lacks", expected - found), ("has", found - expected))
                   if names]
    return ConfigError(
        f"{chain} database {redact_url(url)}: table {table} {' and '.join(differences)}, so it "
        f"was not made by a Shipyard release and is left unchanged. Rename or drop that table, "
        f"or correct {where_configured(url)}."
    )
