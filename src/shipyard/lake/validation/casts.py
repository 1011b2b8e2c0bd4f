"""Cast check: every value of a typed column must cast to its CLEAN type before the batch lands.

It runs the same casts as :func:`shipyard.lake.clean.clean_select`, as ``TRY_CAST``, so a value
that would make landing fail rejects the batch with examples instead.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from shipyard.config.schema import CleanRules
from shipyard.lake.clean import cast_expr, check_names
from shipyard.lake.duck import one, values
from shipyard.lake.duck import quote as _q
from shipyard.lake.validation.report import Check

__all__ = ["check_casts"]


def check_casts(
    con: duckdb.DuckDBPyConnection, raw: pa.Schema, rules: CleanRules, table: str, source: str
) -> list[Check]:
    """One check per typed column: every non-null value must cast to its CLEAN type."""
    check_names(raw, rules, table)
    checks = []
    for column, target in rules.types.items():
        expr = cast_expr(column, raw.field(column).type, target, try_=True)
        bad = f"{_q(column)} IS NOT NULL AND {expr} IS NULL"
        (count,) = one(con, f"SELECT count(*) FROM {source} WHERE {bad}")
        examples = (
            values(con, f"SELECT DISTINCT {_q(column)} FROM {source} WHERE {bad} LIMIT 5")
            if count else []
        )
        checks.append(
            Check(
                name="clean_type",
                column=column,
                passed=count == 0,
                message=(f"{count} values do not cast to {target}; fix the source or "
                         f"tables.{table}.clean.types.{column}") if count else f"casts to {target}",
                examples=[str(e) for e in examples],
            )
        )
    return checks
