"""Fixtures shared by the unit and end-to-end suites.

PostgreSQL tests get a database of their own, created with a unique name and dropped after;
when the server is missing they skip locally but fail under CI=true, where it must be there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "SHIPYARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _admin_engine() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def _server_or_skip(error: Exception) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI but unreachable: {error}")
    pytest.skip(f"PostgreSQL unreachable: {error}")


def _drop(engine: sa.Engine, name: str) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pg_database_exists(name: str) -> bool:
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": name}).first() is not None
    finally:
        engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    engine = _admin_engine()
    name = f"shipyard_test_{uuid.uuid4().hex[:12]}"
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        engine.dispose()
        _server_or_skip(error)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        _drop(engine, name)
        engine.dispose()


@pytest.fixture
def pg_missing_url() -> Iterator[str]:
    """URL of a PostgreSQL database that does not exist yet (on a server that answers);
    dropped after the test if something created it."""
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        engine.dispose()
        _server_or_skip(error)
    name = f"shipyard_test_new_{uuid.uuid4().hex[:12]}"
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _drop(engine, name)
        engine.dispose()
