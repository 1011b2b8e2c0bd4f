"""Validation checks on batches built in memory, registered in DuckDB as the ingest does."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from shipyard.config.schema import ColumnExpectations, DistributionSettings, TableConfig
from shipyard.lake import duck
from shipyard.lake.validation import NEW, REFERENCE, content_hash, validate_batch
from shipyard.lake.validation.distribution import check_distributions, check_null_rates
from shipyard.lake.validation.expectations import check_expectations
from shipyard.lake.validation.schema import check_schema


def month(n: int, seed: int, *, qty_scale: float = 1.0, web_share: float = 0.5) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "id": np.arange(n) + seed * n,
        "qty": np.ceil(rng.lognormal(1.0, 0.8, n) * qty_scale).astype(np.int64),
        "price": rng.gamma(2.0, 20.0, n),
        "channel": rng.choice(["web", "phone"], n, p=[web_share, 1 - web_share]),
    })


def connect(new: pa.Table, ref: pa.Table):
    con = duck.connect()
    con.register(NEW, new)
    con.register(REFERENCE, ref)
    return con


def test_a_harmless_large_month_passes_even_though_p_values_are_tiny() -> None:
    # 200k rows per side: seasonality-sized shifts are "significant" but small.
    ref = month(200_000, 1)
    new = month(200_000, 2, qty_scale=1.05, web_share=0.53)
    checks = check_distributions(connect(new, ref), NEW, REFERENCE, new.schema,
                                 DistributionSettings(sample_rows=200_000), exclude=["id"])
    by_column = {c.column: c for c in checks}
    assert by_column["qty"].p_value < 0.01  # a plain hypothesis test would reject this month
    assert all(c.passed is not False for c in checks), [c.message for c in checks]


def test_a_drifted_month_fails_on_the_shifted_columns_only() -> None:
    ref = month(20_000, 1)
    new = month(20_000, 2, qty_scale=3.0, web_share=0.9)
    checks = check_distributions(connect(new, ref), NEW, REFERENCE, new.schema,
                                 DistributionSettings(), exclude=["id"])
    failed = {c.column: c for c in checks if c.passed is False}
    assert set(failed) == {"qty", "channel"}
    assert failed["qty"].test == "ks" and failed["qty"].effect >= 0.1
    assert failed["channel"].test == "chi2"
    assert re.search(r"largest change 'phone': 5\d% → 1\d%", failed["channel"].message)
    assert next(c for c in checks if c.column == "id").passed is None  # skipped: key


def test_expectations_report_counts_and_examples() -> None:
    batch = pa.table({"qty": [1, 0, None, 5], "kind": ["a", "b", "zz", "a"], "k": [1, 1, 2, 3]})
    con = duck.connect()
    con.register(NEW, batch)
    checks = check_expectations(con, NEW, batch.schema.names, {
        "qty": ColumnExpectations(not_null=True, min=1),
        "kind": ColumnExpectations(allowed=["a", "b"]),
        "k": ColumnExpectations(unique=True),
        "gone": ColumnExpectations(not_null=True),
    })
    results = {(c.column, c.name): c for c in checks}
    assert results[("qty", "not_null")].message == "1 null values"
    assert results[("qty", "min")].examples == [0]
    assert results[("kind", "allowed")].examples == ["zz"]
    assert results[("k", "unique")].examples == [1]
    assert results[("gone", "expectations")].passed is False


def test_identical_batch_and_schema_change_are_caught() -> None:
    ref = month(1000, 1)
    con = connect(ref, ref)
    table = TableConfig(source="erp", table="t", primary_key=["id"])
    h = content_hash(con, NEW)
    assert h == content_hash(con, REFERENCE)
    report = validate_batch(con, batch_id=2, table_name="t", table=table, schema=ref.schema,
                            rows=1000, reference_columns=[(f.name, str(f.type)) for f in ref.schema],
                            reference_label="batch 1", new_hash=h, reference_hash=h)
    assert [c.name for c in report.failures] == ["not_identical"]
    changed = [("id", "int64"), ("qty", "string"), ("price", "double"), ("extra", "int64")]
    report = validate_batch(con, batch_id=3, table_name="t", table=table, schema=ref.schema,
                            rows=1000, reference_columns=changed, reference_label="batch 1",
                            new_hash=h, reference_hash="other")
    (schema_check,) = [c for c in report.failures if c.name == "schema"]
    assert "missing column 'extra'" in schema_check.message
    assert "new column 'channel'" in schema_check.message
    assert "'qty' changed type from string to int64" in schema_check.message


def with_nulls(table: pa.Table, column: str, every: int) -> pa.Table:
    """``table`` with every ``every``-th value of ``column`` set to null."""
    values = [None if i % every == 0 else v for i, v in enumerate(table[column].to_pylist())]
    return table.set_column(table.schema.get_field_index(column), column, pa.array(values))


def test_null_rates_are_compared_with_the_same_alpha_and_min_effect() -> None:
    ref = with_nulls(month(20_000, 1), "price", 50)  # 2% nulls
    gone = month(20_000, 2).set_column(3, "channel", pa.nulls(20_000, pa.string()))
    settings = DistributionSettings()
    checks = {c.column: c for c in check_null_rates(connect(gone, ref), NEW, REFERENCE,
                                                     gone.schema, ref.schema.names, settings)}
    assert checks["channel"].passed is False and checks["channel"].effect == 1.0
    assert "null rate changed: 0.0% → 100.0%" in checks["channel"].message
    assert checks["qty"].passed is True and checks["qty"].message == "no nulls on both sides"
    more = with_nulls(month(20_000, 3), "price", 33)  # 3% nulls: significant but small
    checks = {c.column: c for c in check_null_rates(connect(more, ref), NEW, REFERENCE,
                                                     more.schema, ref.schema.names, settings)}
    assert checks["price"].p_value < 0.01 and checks["price"].effect < 0.1
    assert checks["price"].passed is True


def test_an_all_null_column_fails_validation_though_its_type_is_null() -> None:
    ref = month(2000, 1)
    new = month(2000, 2).set_column(3, "channel", pa.nulls(2000))
    con = connect(new, ref)
    table = TableConfig(source="erp", table="t", primary_key=["id"])
    report = validate_batch(con, batch_id=2, table_name="t", table=table, schema=new.schema,
                            rows=2000, reference_columns=[(f.name, str(f.type)) for f in ref.schema],
                            reference_label="batch 1", new_hash=content_hash(con, NEW),
                            reference_hash=content_hash(con, REFERENCE))
    assert [(c.name, c.column) for c in report.failures] == [("null_rate", "channel")]


def test_a_type_change_is_a_schema_failure_and_typed_expectations_are_skipped() -> None:
    ref = month(500, 1)
    new = ref.set_column(2, "price", pa.array(["n/a"] * 500))
    con = connect(new, ref)
    table = TableConfig(source="erp", table="t", primary_key=["id"],
                        validation={"expectations": {"price": {"min": 0}}})
    report = validate_batch(con, batch_id=2, table_name="t", table=table, schema=new.schema,
                            rows=500, reference_columns=[(f.name, str(f.type)) for f in ref.schema],
                            reference_label="batch 1", new_hash=content_hash(con, NEW),
                            reference_hash=content_hash(con, REFERENCE))
    assert [c.name for c in report.failures] == ["schema"]
    assert "'price' changed type from double to string" in report.failures[0].message


def test_a_rename_changes_the_content_hash_and_is_named_as_such() -> None:
    ref = month(500, 1)
    renamed = ref.rename_columns(["id", "quantity", "price", "channel"])
    con = connect(renamed, ref)
    assert content_hash(con, NEW) != content_hash(con, REFERENCE)
    check = check_schema([(f.name, str(f.type)) for f in renamed.schema],
                         [(f.name, str(f.type)) for f in ref.schema])
    assert check.message.startswith("column 'qty' renamed to 'quantity' (")


def test_a_hash_recorded_before_schemas_were_hashed_still_finds_an_identical_batch() -> None:
    ref = month(500, 1)
    con = connect(ref, ref)
    table = TableConfig(source="erp", table="t", primary_key=["id"])
    columns = [(f.name, str(f.type)) for f in ref.schema]
    legacy = content_hash(con, REFERENCE).rsplit(":", 1)[0]  # rows:sum, as older versions kept
    report = validate_batch(con, batch_id=2, table_name="t", table=table, schema=ref.schema,
                            rows=500, reference_columns=columns, reference_label="batch 1",
                            new_hash=content_hash(con, NEW), reference_hash=legacy)
    assert [c.name for c in report.failures] == ["not_identical"]
    renamed = ref.rename_columns(["id", "quantity", "price", "channel"])
    con = connect(renamed, ref)
    report = validate_batch(con, batch_id=3, table_name="t", table=table, schema=renamed.schema,
                            rows=500, reference_columns=columns, reference_label="batch 1",
                            new_hash=content_hash(con, NEW), reference_hash=legacy)
    assert [c.name for c in report.failures] == ["schema"]
