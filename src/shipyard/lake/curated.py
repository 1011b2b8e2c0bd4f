"""CURATED tables: DuckDB SQL over the latest CLEAN tables, rebuilt when an input changes.

Each CURATED version records the CLEAN versions it was built from (``inputs``), which both
documents its lineage and tells the next ingest whether it is stale. PII cannot reach CURATED:
it never exists in CLEAN, and a query that names a PII column fails with a message saying so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from shipyard.config.schema import ProjectConfig
from shipyard.errors import ConfigError, PIIError
from shipyard.lake import duck
from shipyard.lake.tables import DeltaStore

__all__ = ["CuratedBuild", "build_all_curated", "build_curated", "curated_inputs"]

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


def build_curated(
    config: ProjectConfig, store: DeltaStore, name: str, *, force: bool = False
) -> CuratedBuild:
    """Rebuild CURATED ``name`` if its inputs changed since its last version (or ``force``)."""
    inputs = curated_inputs(config, name)
    versions = {t: store.version("clean", t) for t in inputs}
    missing = [t for t, v in versions.items() if v is None]
    if missing:
        raise ConfigError(
            f"curated.{name} reads {missing}, which have no CLEAN version yet; ingest them first"
        )
    signature = ",".join(f"{t}@{v}" for t, v in versions.items())
    if not force and store.last_metadata("curated", name).get("inputs") == signature:
        return CuratedBuild(name=name, version=None, rows=None, inputs=signature)
    con = duck.connect()
    for table in inputs:
        con.register(table, store.open("clean", table).to_pyarrow_dataset())
    try:
        table = con.sql(config.curated[name].sql).to_arrow_table()
    except duckdb.Error as error:
        raise _pii_error(config, name, error) or ConfigError(
            f"curated.{name}.sql failed: {error}"
        ) from None
    version = store.write(
        "curated", name, table, mode="overwrite",
        metadata={"layer": "curated", "inputs": signature, "rows": table.num_rows},
    )
    return CuratedBuild(name=name, version=version, rows=table.num_rows, inputs=signature)


def build_all_curated(
    config: ProjectConfig,
    store: DeltaStore,
    *,
    on_phase: Callable[[str, str], None] | None = None,
) -> list[CuratedBuild]:
    """Bring every CURATED table up to date with the CLEAN tables it reads."""
    builds = []
    for name in config.curated:
        if on_phase is not None:
            on_phase(name, "building curated")
        builds.append(build_curated(config, store, name))
    return builds
