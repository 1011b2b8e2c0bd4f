"""Validation of a new batch against its reference, before it may land.

A batch passes when it is not identical to the last landed batch, has its columns and types,
shows no large distribution shift from the reference (the latest batches landed as normal, see
:mod:`shipyard.lake.reference`) in any tested column, and meets the declared expectations.
Every check's outcome goes into a :class:`ValidationReport` kept for the batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import duckdb
import pyarrow as pa

from shipyard.config.schema import TableConfig
from shipyard.lake.duck import one
from shipyard.lake.validation.casts import check_casts
from shipyard.lake.validation.distribution import check_distributions, check_null_rates
from shipyard.lake.validation.expectations import check_expectations, check_primary_key
from shipyard.lake.validation.report import Check, ValidationReport
from shipyard.lake.validation.schema import Columns, changed_columns, check_schema

__all__ = ["NEW", "REFERENCE", "Check", "ValidationReport", "content_hash", "validate_batch"]

NEW = "new_batch"
REFERENCE = "reference_batch"


def content_hash(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """An order-independent fingerprint of a batch: its schema and its rows.

    DuckDB's row hash (summed, so row order does not matter) sees values only, not column
    names, so a renamed column would hash like the old one: the names and types go in too.
    """
    count, total = one(con, f"SELECT count(*), sum(hash(t)) FROM {source} t")
    columns = con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
    schema = hashlib.sha256(repr([(c[0], c[1]) for c in columns]).encode()).hexdigest()[:16]
    return f"{count}:{total}:{schema}"


def _same_content(new_hash: str, reference_hash: str | None, *, schema_ok: bool) -> bool:
    """Whether two content hashes mean the same batch.

    A hash recorded before schemas were part of it (``rows:sum``) is compared on its rows,
    with the schema check standing in for the rest, so the first ingest after an upgrade
    still recognises an unchanged table.
    """
    if reference_hash is None:
        return False
    if reference_hash.count(":") == 1:
        return schema_ok and new_hash.rsplit(":", 1)[0] == reference_hash
    return new_hash == reference_hash


def validate_batch(
    con: duckdb.DuckDBPyConnection,
    *,
    batch_id: int,
    table_name: str,
    table: TableConfig,
    schema: pa.Schema,
    rows: int,
    reference_columns: Columns | None,
    reference_label: str,
    new_hash: str,
    reference_hash: str | None,
    reference_batches: Sequence[int] = (),
) -> ValidationReport:
    """Run every check of ``new_batch`` (and ``reference_batch``, if any) registered in ``con``;
    ``reference_batches`` are the ids of the batches ``reference_batch`` holds (for the report)."""
    checks: list[Check] = []
    new_columns = [(f.name, str(f.type)) for f in schema]
    schema_ok = True
    if reference_columns is not None:
        schema_check = check_schema(new_columns, reference_columns)
        schema_ok = bool(schema_check.passed)
        same = _same_content(new_hash, reference_hash, schema_ok=schema_ok)
        checks.append(
            Check(
                name="not_identical",
                passed=not same,
                message="identical to the last accepted batch" if same else "ok",
            )
        )
        checks.append(schema_check)
    # A column whose type changed cannot be compared with typed limits: the schema check
    # already rejects the batch, and says why.
    changed = changed_columns(new_columns, reference_columns) if reference_columns else []
    if table.primary_key:
        checks.append(check_primary_key(con, NEW, table.primary_key))
    checks += check_expectations(con, NEW, schema.names, table.validation.expectations,
                                 changed=changed)
    if reference_columns is not None:
        settings = table.validation.distribution
        checks += check_null_rates(con, NEW, REFERENCE, schema,
                                   [name for name, _ in reference_columns], settings)
        if schema_ok:
            # Keys and watermarks differ in every batch, and dates move on with time.
            exclude = [*table.primary_key, *([table.watermark] if table.watermark else [])]
            exclude += [c for c, t in table.clean.types.items() if t in ("date", "timestamp")]
            exclude += [c for c, e in table.validation.expectations.items() if e.unique]
            checks += check_distributions(con, NEW, REFERENCE, schema, settings, exclude)
    checks += check_casts(con, schema, table.clean, table_name, NEW)
    return ValidationReport(
        batch_id=batch_id, table=table_name, rows=rows, reference=reference_label,
        reference_batches=list(reference_batches), checks=checks,
    )
