"""RAW → CLEAN: renames, casts and the removal of personal data, as one DuckDB projection.

The CLEAN rules become a single ``SELECT`` over the staged batch: PII columns are simply never
selected, so no later layer can see them. The same casts are tried (``TRY_CAST``) while the batch
is validated (:mod:`shipyard.lake.validation.casts`), so a value that cannot be cast rejects the
batch before anything lands.
"""

from __future__ import annotations

import pyarrow as pa

from shipyard.config.schema import CleanRules
from shipyard.errors import ConfigError
from shipyard.lake.duck import quote as _q

__all__ = ["DUCKDB_TYPES", "cast_expr", "check_names", "clean_select"]

DUCKDB_TYPES: dict[str, str] = {
    "bool": "BOOLEAN",
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "float32": "FLOAT",
    "float64": "DOUBLE",
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
}


def check_names(raw: pa.Schema, rules: CleanRules, table: str) -> None:
    for kind, columns in (("rename", rules.rename), ("types", rules.types), ("pii", rules.pii)):
        missing = [c for c in columns if c not in raw.names]
        if missing:
            raise ConfigError(
                f"tables.{table}.clean.{kind} names {missing}, which the source does not have "
                f"(source columns: {', '.join(raw.names)}); fix shipyard.yaml"
            )


def cast_expr(column: str, raw_type: pa.DataType, target: str, *, try_: bool) -> str:
    cast = "TRY_CAST" if try_ else "CAST"
    expr = _q(column)
    if target == "date" and (pa.types.is_string(raw_type) or pa.types.is_large_string(raw_type)):
        expr = f"{cast}({expr} AS TIMESTAMP)"  # accepts '2026-10-01' and '2026-10-01 00:00:00'
    return f"{cast}({expr} AS {DUCKDB_TYPES[target]})"


def clean_select(raw: pa.Schema, rules: CleanRules, table: str, source: str) -> str:
    """The SQL that turns RAW rows of ``source`` into CLEAN rows."""
    check_names(raw, rules, table)
    items = []
    for field in raw:
        if field.name in rules.pii:
            continue
        expr = (
            cast_expr(field.name, field.type, rules.types[field.name], try_=False)
            if field.name in rules.types
            else _q(field.name)
        )
        items.append(f"{expr} AS {_q(rules.rename.get(field.name, field.name))}")
    if not items:
        raise ConfigError(f"tables.{table}.clean leaves no column; declare fewer PII columns")
    return f"SELECT {', '.join(items)} FROM {source}"
