"""Schema migrations of Shipyard's own databases, on SQLite and on PostgreSQL.

A database made by an earlier release (``create_all``, no version table) is stamped and upgraded
in place when a store first opens it, and every row it held is still there and readable; the
migrated schema is exactly the stores' current tables; two processes opening a new database at
once both succeed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from shipyard.batch.results import ResultsStore
from shipyard.db import create_engine_for
from shipyard.db.migrate import VERSION_TABLES, Chain, alembic_config, migrate
from shipyard.db.tables import CHAINS
from shipyard.errors import ConfigError
from shipyard.lake.batches import BatchRegister
from shipyard.monitoring.states import MonitorStates
from shipyard.pipeline import RunStore
from shipyard.registry.audit import AuditTrail
from shipyard.scheduler.slots import SlotStore
from shipyard.serving.pipeline_runs.claims import RunClaims
from shipyard.ui.session_store import SessionStore

BOUND_S = 120  # generous: each process imports SQLAlchemy and Alembic on a busy machine

STORES: dict[Chain, tuple[type, ...]] = {
    "metadata": (BatchRegister, RunStore, SlotStore, AuditTrail, RunClaims, MonitorStates,
                 SessionStore),
    "results": (ResultsStore,),
}

AT = datetime(2026, 10, 1, 8, 30, tzinfo=UTC)
LATER = datetime(2026, 10, 1, 8, 45, tzinfo=UTC)
RUN = "train-20261001-0830-beef"
HEADS: dict[Chain, list[str]] = {"metadata": ["metadata_0006"], "results": ["results_0001"]}
ADDED = {"shipyard_batches": {"ingest_id": None, "reference_role": None}}
"""Columns later revisions added to a table, and what the rows written before them hold."""

ROWS: dict[str, list[dict[str, Any]]] = {
    "shipyard_batches": [
        {"id": 1, "table_name": "orders", "status": "landed", "rows": 12_000_000_000,
         "source_query": "SELECT * FROM orders", "watermark_from": None,
         "watermark_to": "2026-09-30", "content_hash": "sha256:ab12", "schema_json": '{"id": "int"}',
         "staged_path": "/state/staging/1", "report_path": "/state/reports/1.json",
         "summary": '{"rows": 3}', "raw_version": 4, "clean_version": 5, "created_at": AT,
         "finished_at": LATER, "accepted_by": None, "accept_reason": None},
        {"id": 2, "table_name": "customers", "status": "rejected", "rows": 7,
         "source_query": "SELECT * FROM customers", "watermark_from": "2026-09-01",
         "watermark_to": None, "content_hash": None, "schema_json": None, "staged_path": None,
         "report_path": None, "summary": None, "raw_version": None, "clean_version": None,
         "created_at": LATER, "finished_at": None, "accepted_by": "ada",
         "accept_reason": "known gap"},
    ],
    "shipyard_runs": [
        {"id": RUN, "pipeline": "train", "status": "succeeded", "started_at": AT,
         "finished_at": LATER, "duration_s": 900.5, "params": '{"alpha": 0.1}',
         "executor": "local", "env": "dev", "git_commit": "9dc5436", "git_dirty": False,
         "data_versions": '{"orders": 4}', "smoke": False, "sample": 0.25, "no_cache": True,
         "resumed_from": "train-20260930-0800-cafe", "error": None, "traceback": None,
         "mlflow_run_id": "f00d", "tracking_uri": "sqlite:///mlflow.db",
         "snapshot_path": "/state/snapshots/x", "environment": '{"python": "3.11"}',
         "host": "build-1", "pid": 4242, "run_by": "ada"},
    ],
    "shipyard_step_runs": [
        {"id": 1, "run_id": RUN, "position": 0, "step": "features", "status": "succeeded",
         "started_at": AT, "finished_at": LATER, "duration_s": 1.5, "fingerprint": "fp1",
         "cache_key": '{"code": "c"}', "reason": "cache miss", "reused_from": None,
         "outputs": '{"features": "/artifacts/f"}', "error": None, "traceback": None,
         "mlflow_run_id": "f00e"},
        {"id": 2, "run_id": RUN, "position": 1, "step": "fit", "status": "failed",
         "started_at": LATER, "finished_at": None, "duration_s": None, "fingerprint": None,
         "cache_key": None, "reason": None, "reused_from": "train-20260930-0800-cafe",
         "outputs": None, "error": "boom", "traceback": "Traceback ...", "mlflow_run_id": None},
    ],
    "shipyard_schedule_slots": [
        {"pipeline": "train", "trigger": "cron", "slot": "2026-10-01T08:30", "claimed_at": AT,
         "status": "succeeded", "run_id": RUN, "message": None},
        {"pipeline": "train", "trigger": "new_data", "slot": "orders@4", "claimed_at": LATER,
         "status": "failed", "run_id": None, "message": "gate failed"},
    ],
    "shipyard_model_audit": [
        {"id": 1, "model": "recommender", "version": 3, "action": "promoted", "actor": "ada",
         "reason": "better recall", "at": AT, "details": '{"from": 2}'},
    ],
    "shipyard_recommendation_sets": [
        {"id": "recommender-v3-aa", "model": "recommender", "version": 3, "k": 2,
         "customers": 1, "created_at": AT},
    ],
    "shipyard_recommendations": [
        {"set_id": "recommender-v3-aa", "customer_id": "c1", "products": '["p1", "p2"]',
         "scores": "[0.9, 0.5]"},
    ],
    "shipyard_recommendations_current": [{"model": "recommender", "set_id": "recommender-v3-aa"}],
}

LEGACY_SCHEMAS = {
    # What create_all of the release before migrations made once every store had been opened.
    "previous release": {"metadata": ["metadata_0001"], "results": ["results_0001"]},
    # Stores are created when first used: a project that only ingested has the batch register.
    "previous release, partly used": {"metadata": ["metadata_0001"], "results": [],
                                      "only": ["shipyard_batches", "shipyard_model_audit"]},
    # create_all of this release's code before migrations: the claims table too.
    "development build": {"metadata": ["metadata_0001", "metadata_0002"],
                          "results": ["results_0001"]},
}


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def new_database(backend: str, request: pytest.FixtureRequest, folder: Path) -> str:
    """URL of a new, empty database: a file in ``folder``, or one of PostgreSQL's, dropped after."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'metadata.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return new_database(request.param, request, tmp_path)


def script(chain: Chain) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(chain))


def revision_tables(chain: Chain, revision: str) -> sa.MetaData:
    tables = script(chain).get_revision(revision).module.tables
    assert isinstance(tables, sa.MetaData)
    return tables


def current_tables(chain: Chain) -> sa.MetaData:
    """The tables of ``chain`` in this release's code (:mod:`shipyard.db.tables`)."""
    return CHAINS[chain]


def make_legacy_database(url: str, shape: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
    """A database as ``create_all`` of an earlier release left it, every table filled."""
    engine = sa.create_engine(url)
    filled: dict[str, list[dict[str, Any]]] = {}
    chains: tuple[Chain, ...] = ("metadata", "results")
    with engine.begin() as conn:
        for chain in chains:
            for revision in shape[chain]:
                for table in revision_tables(chain, revision).tables.values():
                    if "only" in shape and table.name not in shape["only"]:
                        continue
                    table.create(conn)
                    if table.name in ROWS:
                        conn.execute(table.insert(), ROWS[table.name])
                        filled[table.name] = ROWS[table.name]
    engine.dispose()
    return filled


def stored(engine: sa.Engine, table: str) -> list[dict[str, Any]]:
    """Every row of ``table`` as the current code reads it, times in UTC (SQLite drops zones)."""
    chain: Chain = "results" if table in current_tables("results").tables else "metadata"
    with engine.connect() as conn:
        rows = conn.execute(sa.select(current_tables(chain).tables[table])).all()
    found = [{key: value.replace(tzinfo=UTC)
              if isinstance(value, datetime) and value.tzinfo is None else value
              for key, value in row._mapping.items()} for row in rows]
    return in_order(found)


def in_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: json.dumps(row, default=str, sort_keys=True))


def versions(engine: sa.Engine, chain: Chain) -> list[str]:
    with engine.connect() as conn:
        query = sa.text(f"SELECT version_num FROM {VERSION_TABLES[chain]}")
        return list(conn.execute(query).scalars())


def schema_differences(engine: sa.Engine, chain: Chain) -> list[Any]:
    """What ``alembic check`` would report for ``chain``: nothing when migrated correctly."""
    target = current_tables(chain)

    def ours(name: str | None, kind: str, _parents: Any) -> bool:
        return kind != "table" or name in target.tables

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "version_table": VERSION_TABLES[chain], "include_name": ours, "compare_type": True})
        return list(compare_metadata(context, target))


@pytest.mark.parametrize("made_by", list(LEGACY_SCHEMAS))
def test_database_of_an_earlier_release_is_upgraded_with_every_row(db_url: str, made_by: str) -> None:
    filled = make_legacy_database(db_url, LEGACY_SCHEMAS[made_by])
    engine = create_engine_for(db_url, purpose="metadata database")

    for store in (*STORES["metadata"], *STORES["results"]):
        store(engine)

    assert {chain: versions(engine, chain) for chain in HEADS} == HEADS
    for table, rows in filled.items():
        assert stored(engine, table) == in_order([{**row, **ADDED.get(table, {})}
                                                  for row in rows]), table
    assert set(current_tables("metadata").tables) | set(current_tables("results").tables) <= set(
        sa.inspect(engine).get_table_names())
    # The stores read the old rows through their own API and write the new tables.
    if "shipyard_runs" in filled:
        record = RunStore(engine).get(RUN)
        assert (record.status, record.params, record.smoke, record.sample) == (
            "succeeded", {"alpha": 0.1}, False, 0.25)
        assert [(s.step, s.status, s.outputs) for s in record.steps] == [
            ("features", "succeeded", {"features": "/artifacts/f"}), ("fit", "failed", {})]
        assert [s["slot"] for s in SlotStore(engine).history("train")] == [
            "2026-10-01T08:30", "orders@4"]
        recommendations = ResultsStore(engine)
        assert recommendations.for_customer("recommender", "c1") == (3, [("p1", 0.9), ("p2", 0.5)])
    batch = BatchRegister(engine).get(1)
    assert (batch.status, batch.rows, batch.content_hash) == ("landed", 12_000_000_000, "sha256:ab12")
    assert [(e.version, e.action, e.details) for e in AuditTrail(engine).history("recommender")] == [
        (3, "promoted", {"from": 2})]
    assert RunClaims(engine).take("train", "train-new", {}) is not None
    engine.dispose()


@pytest.mark.parametrize("start", ["new database", "previous release"])
def test_migrated_schema_is_exactly_the_stores_tables(db_url: str, start: str) -> None:
    if start == "previous release":
        make_legacy_database(db_url, LEGACY_SCHEMAS["previous release"])
    engine = create_engine_for(db_url, purpose="metadata database")
    migrate(engine, "metadata")
    migrate(engine, "results")

    assert schema_differences(engine, "metadata") == []
    assert schema_differences(engine, "results") == []
    engine.dispose()


FIRST_USE = """
import sys, time
from pathlib import Path
import sqlalchemy as sa
from shipyard.db import create_engine_for
from shipyard.db.migrate import migrate

url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
engine = create_engine_for(url, purpose="metadata database")
ready.touch()
while not go.exists():
    time.sleep(0.001)
migrate(engine, "metadata")  # what opening any store does first
with engine.begin() as conn:
    conn.execute(sa.text(
        "INSERT INTO shipyard_model_audit (model, version, action, actor, reason, at, details) "
        "VALUES ('m', 1, 'promoted', :actor, 'first use', CURRENT_TIMESTAMP, '{}')"),
        {"actor": ready.name})
"""


def test_two_processes_opening_a_new_database_at_once_both_succeed(db_url: str,
                                                                   tmp_path: Path) -> None:
    go = tmp_path / "go"
    readies = [tmp_path / f"process-{n}" for n in range(2)]
    processes = [subprocess.Popen([sys.executable, "-c", FIRST_USE, db_url, str(ready), str(go)],
                                  stderr=subprocess.PIPE, text=True) for ready in readies]
    deadline = time.monotonic() + BOUND_S
    while not all(ready.exists() for ready in readies):
        assert all(p.poll() is None for p in processes), [p.communicate()[1] for p in processes]
        assert time.monotonic() < deadline, "the processes did not start"
        time.sleep(0.05)
    go.touch()
    errors = [p.communicate(timeout=BOUND_S)[1] for p in processes]

    assert [p.returncode for p in processes] == [0, 0], errors
    engine = sa.create_engine(db_url)
    assert versions(engine, "metadata") == HEADS["metadata"]
    assert sorted(e.actor for e in AuditTrail(engine).history("m")) == ["process-0", "process-1"]
    engine.dispose()


def test_a_table_not_made_by_shipyard_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE shipyard_runs (id TEXT PRIMARY KEY, owner TEXT)")
        conn.exec_driver_sql("INSERT INTO shipyard_runs VALUES ('r1', 'someone else')")

    with pytest.raises(ConfigError, match=r"table shipyard_runs lacks .*pipeline.* and has owner"):
        RunStore(engine)

    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT * FROM shipyard_runs").all() == [("r1", "someone else")]
        assert not sa.inspect(conn).has_table(VERSION_TABLES["metadata"])


def test_a_database_upgraded_by_a_newer_release_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    make_legacy_database(url, LEGACY_SCHEMAS["development build"])
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {VERSION_TABLES['metadata']} (version_num TEXT)"))
        conn.execute(sa.text(f"INSERT INTO {VERSION_TABLES['metadata']} VALUES ('metadata_9999')"))

    with pytest.raises(ConfigError, match=r"revision 'metadata_9999'.*Upgrade Shipyard"):
        RunStore(engine)

    assert stored(engine, "shipyard_runs") == ROWS["shipyard_runs"]
