"""Declared expectations (not null, unique, ranges, allowed values), checked with DuckDB.

DuckDB scans the staged Parquet file out of core, so these checks cost one pass per column
whatever the batch's size, and each failure comes with a few example values to look at.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from shipyard.config.schema import ColumnExpectations
from shipyard.lake.duck import one, values
from shipyard.lake.duck import quote as _q
from shipyard.lake.validation.report import Check

__all__ = ["check_expectations", "check_primary_key"]

_EXAMPLES = 5


def _examples(con: duckdb.DuckDBPyConnection, source: str, column: str, where: str) -> list:
    return values(
        con, f"SELECT DISTINCT {_q(column)} FROM {source} WHERE {where} LIMIT {_EXAMPLES}"
    )


def check_primary_key(
    con: duckdb.DuckDBPyConnection, source: str, columns: Sequence[str]
) -> Check:
    keys = ", ".join(_q(c) for c in columns)
    nulls = " OR ".join(f"{_q(c)} IS NULL" for c in columns)
    duplicates, null_rows = one(
        con,
        f"SELECT (SELECT count(*) FROM {source}) - (SELECT count(*) FROM "
        f"(SELECT DISTINCT {keys} FROM {source})), "
        f"(SELECT count(*) FROM {source} WHERE {nulls})",
    )
    name = ", ".join(columns)
    if duplicates or null_rows:
        return Check(
            name="primary_key",
            column=name,
            passed=False,
            message=f"{duplicates} duplicate and {null_rows} null key values in ({name})",
        )
    return Check(name="primary_key", column=name, passed=True, message="unique and not null")


def check_expectations(
    con: duckdb.DuckDBPyConnection,
    source: str,
    columns: Sequence[str],
    expectations: dict[str, ColumnExpectations],
    *,
    changed: Sequence[str] = (),
) -> list[Check]:
    """One check per declared rule; ``changed`` columns (new type) are skipped, with a note."""
    checks: list[Check] = []
    for column, expect in expectations.items():
        if column in changed:
            checks.append(Check(name="expectations", column=column, passed=None,
                                message="not checked: the column changed type (see schema)"))
            continue
        if column not in columns:
            checks.append(
                Check(
                    name="expectations",
                    column=column,
                    passed=False,
                    message=f"column {column!r} has expectations but is not in the batch "
                    f"(columns: {', '.join(columns)})",
                )
            )
            continue
        col = _q(column)
        rules: list[tuple[str, str, str]] = []  # (check name, SQL condition of a bad row, text)
        if expect.not_null:
            rules.append(("not_null", f"{col} IS NULL", "null values"))
        if expect.min is not None:
            rules.append(("min", f"{col} < {expect.min}", f"values below {expect.min}"))
        if expect.max is not None:
            rules.append(("max", f"{col} > {expect.max}", f"values above {expect.max}"))
        if expect.allowed is not None:
            allowed = ", ".join(
                "'" + v.replace("'", "''") + "'" if isinstance(v, str) else str(v)
                for v in expect.allowed
            )
            rules.append(("allowed", f"{col} NOT IN ({allowed})", "values not allowed"))
        for name, bad, text in rules:
            try:
                (count,) = one(con, f"SELECT count(*) FROM {source} WHERE {bad}")
            except duckdb.Error as error:  # e.g. min: 0 on a text column
                checks.append(Check(name=name, column=column, passed=False,
                                    message=f"cannot be checked on this column: "
                                            f"{str(error).splitlines()[0]}"))
                continue
            checks.append(
                Check(
                    name=name,
                    column=column,
                    passed=count == 0,
                    message=f"{count} {text}" if count else "ok",
                    examples=_examples(con, source, column, bad) if count else [],
                )
            )
        if expect.unique:
            (duplicates,) = one(con, f"SELECT count({col}) - count(DISTINCT {col}) FROM {source}")
            checks.append(
                Check(
                    name="unique",
                    column=column,
                    passed=duplicates == 0,
                    message=f"{duplicates} duplicate values" if duplicates else "ok",
                    examples=_examples(
                        con,
                        source,
                        column,
                        f"{col} IN (SELECT {col} FROM {source} GROUP BY {col} HAVING count(*) > 1)",
                    )
                    if duplicates
                    else [],
                )
            )
    return checks
