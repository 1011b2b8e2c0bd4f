"""CURATED tables: DuckDB SQL over the CLEAN tables, rebuilt when an input or the query changes.

Each CURATED version records the CLEAN versions it was built from (``inputs``) and a hash of
its query, which both document its lineage and tell the next ingest whether it is stale. Every
query is bound against the CLEAN schemas-to-be before an ingest lands anything. PII cannot reach CURATED:
it never exists in CLEAN, and a query that names a PII column fails with a message saying so.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from shipyard.config.schema import ProjectConfig
from shipyard.errors import ConfigError, LakeError, PIIError, ShipyardError
from shipyard.hints import command
from shipyard.lake import duck
from shipyard.lake.tables import DeltaStore

__all__ = [
    "CuratedBuild", "build_all_curated", "build_curated", "check_queries", "curated_inputs",
    "query_hash",
]

_QUOTED = re.compile(r'"([^"]+)"')


@dataclass(frozen=True)
class CuratedBuild:
    name: str
    version: int | None  # None when the table was up to date
    rows: int | None
    inputs: str


def _table_names(node: Any, names: set[str], ctes: set[str]) -> None:
    """Collect base-table and CTE names from DuckDB's parse tree (no binding needed)."""
    if isinstance(node, dict):
        if node.get("type") == "BASE_TABLE":
            names.add(node["table_name"])
        for entry in node.get("cte_map", {}).get("map", []) if "cte_map" in node else []:
            ctes.add(entry["key"])
        for value in node.values():
            _table_names(value, names, ctes)
    elif isinstance(node, list):
        for value in node:
            _table_names(value, names, ctes)


def curated_inputs(config: ProjectConfig, name: str) -> list[str]:
    """The CLEAN tables a CURATED query reads, checked against the declared tables.

    The query is parsed, not bound, so it can be checked before any table exists.
    """
    sql = config.curated[name].sql
    con = duck.connect()
    (tree,) = duck.one(con, "SELECT json_serialize_sql(" + duck.literal(sql) + ")")
    parsed = json.loads(tree)
    if parsed.get("error"):
        raise ConfigError(f"curated.{name}.sql is not valid SQL: {parsed.get('error_message')}")
    names: set[str] = set()
    ctes: set[str] = set()
    _table_names(parsed, names, ctes)
    referenced = sorted(names - ctes)
    unknown = [t for t in referenced if t not in config.tables]
    if unknown:
        raise ConfigError(
            f"curated.{name}.sql reads {unknown}, which are not tables of this project "
            f"(tables: {', '.join(config.tables)})"
        )
    return referenced


def _pii_error(config: ProjectConfig, name: str, error: duckdb.Error) -> PIIError | None:
    pii = config.pii_columns
    named = [col for col in _QUOTED.findall(str(error)) if col in pii]
    if not named:
        return None
    col = named[0]
    return PIIError(
        f"curated.{name}.sql names column {col!r}, which tables.{pii[col]}.clean.pii declares "
        f"personal data: PII never reaches CLEAN or CURATED. Remove it from the query."
    )


def query_hash(config: ProjectConfig, name: str) -> str:
    """A short fingerprint of a CURATED query, kept with each version: a changed query makes
    the table stale even when its inputs did not change."""
    return hashlib.sha256(config.curated[name].sql.encode()).hexdigest()[:16]


def _failed(config: ProjectConfig, store: DeltaStore, name: str, error: duckdb.Error,
            what: str) -> ShipyardError:
    """The error for a query that failed: ``what`` happened, and what the user does next."""
    message = " ".join(str(error).split())
    return _pii_error(config, name, error) or LakeError(
        f"curated.{name}.sql {what.format(error=message)}; fix curated.{name}.sql in "
        f"shipyard.yaml and run '{command('ingest', store.env)}' again"
    )


def check_queries(
    config: ProjectConfig,
    store: DeltaStore,
    published: dict[str, int],
    staged: dict[str, str],
) -> None:
    """Bind every CURATED query against the CLEAN schemas the lake will have, before landing.

    ``published`` maps CLEAN table → the version readers see; ``staged`` maps a CLEAN table
    about to change → the SQL of its new CLEAN rows (over the staged batch). DuckDB binds each
    query against empty tables of those schemas, so a query that names a missing column or
    mixes types fails here, with nothing landed, instead of after RAW and CLEAN are committed.
    """
    con = duck.connect()
    defined: set[str] = set()
    for name in config.curated:
        for table in curated_inputs(config, name):
            if table in defined:
                continue
            version = published.get(table)
            if version is None and table not in staged:
                raise ConfigError(f"curated.{name} reads {table!r}, which has no CLEAN version "
                                  f"yet; ingest it first")
            parts = []
            if version is not None:
                schema = store.open("clean", table, version).to_pyarrow_dataset().schema
                con.register(f"_old_{table}", pa.Table.from_batches([], schema))
                parts.append(f"SELECT * FROM {duck.quote('_old_' + table)}")
            if table in staged:
                parts = parts if config.tables[table].mode == "incremental" else []
                parts.append(f"SELECT * FROM ({staged[table]}) LIMIT 0")
            con.execute(f"CREATE TABLE {duck.quote(table)} AS "
                        + " UNION ALL BY NAME ".join(parts))
            defined.add(table)
        try:
            con.sql(config.curated[name].sql).limit(0).fetchall()
        except duckdb.Error as error:
            raise _failed(config, store, name, error,
                          "does not run on the new CLEAN tables: {error}. Nothing landed") from None
    con.close()


def build_curated(
    config: ProjectConfig, store: DeltaStore, name: str, versions: dict[str, int], *,
    force: bool = False,
) -> CuratedBuild:
    """Rebuild CURATED ``name`` from CLEAN ``versions`` (table → version) if those inputs or
    its query changed since its last version (or ``force``)."""
    inputs = curated_inputs(config, name)
    missing = [t for t in inputs if versions.get(t) is None]
    if missing:
        raise ConfigError(
            f"curated.{name} reads {missing}, which have no CLEAN version yet; ingest them first"
        )
    signature = ",".join(f"{t}@{versions[t]}" for t in inputs)
    query = query_hash(config, name)
    last = store.last_metadata("curated", name)
    if not force and last.get("inputs") == signature and last.get("query") == query:
        return CuratedBuild(name=name, version=None, rows=None, inputs=signature)
    con = duck.connect()
    for table in inputs:
        con.register(table, store.open("clean", table, versions[table]).to_pyarrow_dataset())
    try:
        table = con.sql(config.curated[name].sql).to_arrow_table()
    except duckdb.Error as error:
        raise _failed(config, store, name, error, "failed: {error}. The new RAW and CLEAN versions are "
                      "landed but not published (readers still see the previous snapshot)"
                      ) from None
    version = store.write(
        "curated", name, table, mode="overwrite",
        metadata={"layer": "curated", "inputs": signature, "query": query,
                  "rows": table.num_rows},
    )
    return CuratedBuild(name=name, version=version, rows=table.num_rows, inputs=signature)


def build_all_curated(
    config: ProjectConfig,
    store: DeltaStore,
    versions: dict[str, int],
    *,
    on_phase: Callable[[str, str], None] | None = None,
) -> list[CuratedBuild]:
    """Bring every CURATED table up to date with CLEAN ``versions`` (table → version)."""
    builds = []
    for name in config.curated:
        if on_phase is not None:
            on_phase(name, "building curated")
        builds.append(build_curated(config, store, name, versions))
    return builds
