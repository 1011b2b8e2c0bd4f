"""Shipyard's own PostgreSQL databases are created on first use, or the error says how.

Each test works on a database name of its own that does not exist yet (``pg_missing_url``),
dropped afterwards; a role made for a test is dropped too.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from shipyard.db import configured_at, create_engine_for, ensure_database
from shipyard.errors import DatabaseMissing, StoreUnreachable
from shipyard.project import Project
from tests.conftest import PG_ADMIN_URL, pg_database_exists
from tests.e2e.server import free_port

pytestmark = pytest.mark.postgres


def test_a_missing_database_is_created_and_the_creation_is_said(
        pg_missing_url: str, caplog: pytest.LogCaptureFixture) -> None:
    name = make_url(pg_missing_url).database
    plain = pg_missing_url.replace("postgresql+psycopg://", "postgresql://")  # driver chosen here
    configured_at(plain, "environments.prod.metadata_db")
    engine = create_engine_for(plain, purpose="metadata database")
    try:
        with caplog.at_level(logging.WARNING, logger="shipyard.db"):
            ensure_database(engine, purpose="metadata database")
        assert pg_database_exists(name)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar() == name
    finally:
        engine.dispose()
    said = caplog.text
    assert f"database {name!r} did not exist" in said and "127.0.0.1:5432" in said
    assert "environments.prod.metadata_db" in said


def test_an_existing_database_is_left_alone(pg_url: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    engine = create_engine_for(pg_url, purpose="results database")
    try:
        with caplog.at_level(logging.WARNING, logger="shipyard.db"):
            ensure_database(engine, purpose="results database")
    finally:
        engine.dispose()
    assert "did not exist" not in caplog.text


@pytest.fixture
def role_without_createdb() -> Iterator[str]:
    """A login role that may not create databases (trust auth: no password needed)."""
    role = f"shipyard_test_role_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN NOCREATEDB'))
    try:
        yield role
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def test_a_role_that_may_not_create_it_gets_the_createdb_line(
        pg_missing_url: str, role_without_createdb: str) -> None:
    url = make_url(pg_missing_url).set(username=role_without_createdb)
    shown = url.render_as_string(hide_password=False)
    configured_at(shown, "environments.prod.results_db")
    engine = create_engine_for(shown, purpose="results database")
    try:
        with pytest.raises(DatabaseMissing) as raised:
            ensure_database(engine, purpose="results database")
    finally:
        engine.dispose()
    message = str(raised.value)
    assert raised.value.exit_code == 2
    assert f"database {url.database!r} does not exist" in message
    assert "server at 127.0.0.1:5432 (permission denied to create database)" in message
    assert (f"'createdb -h 127.0.0.1 -p 5432 -O {role_without_createdb} {url.database}'"
            in message)
    assert "environments.prod.results_db" in message
    assert not pg_database_exists(url.database or "")


def test_a_server_that_does_not_answer_is_named_with_host_and_port() -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/shop_prod"
    engine = create_engine_for(url, purpose="metadata database")
    try:
        with pytest.raises(StoreUnreachable) as raised:
            ensure_database(engine, purpose="metadata database")
    finally:
        engine.dispose()
    assert f"Start the server at 127.0.0.1:{port}" in str(raised.value)


def test_the_tracking_store_database_exists_before_mlflow_opens_it(pg_missing_url: str,
                                                                   tmp_path: Path) -> None:
    from shipyard.tracking import tracking_client

    (tmp_path / "shipyard.yaml").write_text(
        f"project: p\nenvironments:\n  prod: {{lake: lake, tracking_uri: '{pg_missing_url}'}}\n")
    client = tracking_client(Project.open(tmp_path, "prod"))
    assert client.search_registered_models() == []  # MLflow made its schema in the new database
    assert pg_database_exists(make_url(pg_missing_url).database or "")
