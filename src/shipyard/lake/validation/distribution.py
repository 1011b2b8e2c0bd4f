"""Per-column distribution tests of a new batch against the last accepted one.

Numbers get the two-sample Kolmogorov–Smirnov test, categories the chi-square test of
homogeneity. With tens of thousands of rows these tests find *some* difference between any two
real months, so a column fails only when the difference is both significant (p < alpha) and
large enough to matter: a KS statistic, or a Cramér's V, of at least ``min_effect`` (0.1 by
default, a "small" effect in Cohen's terms). Both sides are seeded random samples of at most
``sample_rows`` rows, which keeps the cost flat on huge batches and the result repeatable.

Null rates are tested the same way for every column, whatever its type: a 2×2 chi-square test
of null vs. non-null counts, failing when p < alpha and the effect (the φ coefficient, which is
Cramér's V of a 2×2 table) is at least ``min_effect``. A column that became entirely NULL has
no values left to compare, so without this test it would pass every other one.

Identifiers (columns named ``id`` or ``*_id``), keys, watermarks and date columns are not tested
unless listed in ``columns``: they change with every batch by nature.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa
from scipy import stats

from shipyard.config.schema import DistributionSettings
from shipyard.lake.duck import one
from shipyard.lake.duck import quote as _q
from shipyard.lake.validation.report import Check
from shipyard.lake.validation.stats import homogeneity, matters

__all__ = ["check_distributions", "check_null_rates", "select_columns"]

_SEED = 42


def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _is_categorical(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_boolean(t)


def _is_identifier(name: str) -> bool:
    lowered = name.lower()
    return lowered == "id" or lowered.endswith("_id")


def select_columns(
    schema: pa.Schema, settings: DistributionSettings, exclude: Sequence[str]
) -> tuple[list[str], list[Check]]:
    """Columns to test, and a skipped check for each column left out (with the reason)."""
    skipped: list[Check] = []
    chosen: list[str] = []
    names = settings.columns if settings.columns is not None else schema.names
    for name in names:
        if name not in schema.names:
            skipped.append(
                Check(name="distribution", column=name, passed=False,
                      message=f"column {name!r} listed in validation.distribution.columns "
                              f"is not in the batch")
            )
            continue
        t = schema.field(name).type
        if settings.columns is None and (name in exclude or name in settings.ignore):
            reason = "key, watermark, date or ignored column"
        elif settings.columns is None and _is_identifier(name):
            reason = "identifier (named id or *_id); list it in columns to test it"
        elif _is_numeric(t) or _is_categorical(t):
            chosen.append(name)
            continue
        else:
            reason = f"type {t} has no distribution test"
        skipped.append(Check(name="distribution", column=name, passed=None, message=reason))
    return chosen, skipped


def _sample(con: duckdb.DuckDBPyConnection, source: str, columns: list[str], n: int) -> pa.Table:
    cols = ", ".join(_q(c) for c in columns)
    return con.sql(
        f"SELECT {cols} FROM {source} USING SAMPLE reservoir({n} ROWS) REPEATABLE ({_SEED})"
    ).to_arrow_table()


def _ks(column: str, new: pa.ChunkedArray, ref: pa.ChunkedArray, s: DistributionSettings) -> Check:
    a = np.asarray(new.drop_null().to_numpy(), dtype=float)
    b = np.asarray(ref.drop_null().to_numpy(), dtype=float)
    if len(a) == 0 or len(b) == 0:
        return Check(name="distribution", column=column, passed=None, test="ks",
                     message="no non-null values on one side")
    result = stats.ks_2samp(a, b)
    d, p = float(result.statistic), float(result.pvalue)
    failed = matters(p, d, s.alpha, s.min_effect)
    return Check(
        name="distribution", column=column, test="ks", passed=not failed,
        statistic=d, p_value=p, effect=d, threshold=s.min_effect,
        message=(f"distribution shifted: KS D={d:.3f} ≥ {s.min_effect} (p={p:.2g}); "
                 f"mean {b.mean():.4g} → {a.mean():.4g}") if failed
        else f"KS D={d:.3f} (p={p:.2g})",
    )


def _chi2(column: str, new: pa.ChunkedArray, ref: pa.ChunkedArray, s: DistributionSettings,
          ref_categories: int) -> Check:
    if ref_categories > s.max_categories:
        return Check(name="distribution", column=column, passed=None, test="chi2",
                     message=f"{ref_categories} categories > max_categories {s.max_categories}")
    counts_new = {str(k): v for k, v in _value_counts(new).items()}
    counts_ref = {str(k): v for k, v in _value_counts(ref).items()}
    categories = sorted(set(counts_new) | set(counts_ref))
    if len(categories) < 2:
        return Check(name="distribution", column=column, passed=True, test="chi2",
                     message="a single category on both sides")
    table = np.array([[counts_new.get(c, 0) for c in categories],
                      [counts_ref.get(c, 0) for c in categories]], dtype=float)
    chi2, p, v = homogeneity(table)
    failed = matters(p, v, s.alpha, s.min_effect)
    shares_new = table[0] / table[0].sum()
    shares_ref = table[1] / table[1].sum()
    i = int(np.argmax(np.abs(shares_new - shares_ref)))
    return Check(
        name="distribution", column=column, test="chi2", passed=not failed,
        statistic=float(chi2), p_value=float(p), effect=v, threshold=s.min_effect,
        message=(f"category mix shifted: Cramér's V={v:.3f} ≥ {s.min_effect} (p={p:.2g}); "
                 f"largest change {categories[i]!r}: {shares_ref[i]:.0%} → {shares_new[i]:.0%}")
        if failed
        else f"chi-square V={v:.3f} (p={p:.2g})",
    )


def _value_counts(values: pa.ChunkedArray) -> dict[object, int]:
    counts = values.value_counts()
    result: dict[object, int] = {}
    for item in counts.to_pylist():
        key = "<null>" if item["values"] is None else item["values"]
        result[key] = result.get(key, 0) + int(item["counts"])
    return result


def check_distributions(
    con: duckdb.DuckDBPyConnection,
    new_source: str,
    ref_source: str,
    schema: pa.Schema,
    settings: DistributionSettings,
    exclude: Sequence[str],
) -> list[Check]:
    """Test each chosen column of ``new_source`` against ``ref_source`` (DuckDB relations)."""
    if not settings.enabled:
        return []
    columns, checks = select_columns(schema, settings, exclude)
    if not columns:
        return checks
    new = _sample(con, new_source, columns, settings.sample_rows)
    ref = _sample(con, ref_source, columns, settings.sample_rows)
    for column in columns:
        t = schema.field(column).type
        if _is_numeric(t):
            checks.append(_ks(column, new[column], ref[column], settings))
        else:
            (distinct,) = one(con, f"SELECT count(DISTINCT {_q(column)}) FROM {ref_source}")
            checks.append(_chi2(column, new[column], ref[column], settings, int(distinct)))
    return checks


def _null_rate(column: str, new: tuple[int, int], ref: tuple[int, int],
               s: DistributionSettings) -> Check:
    """Compare (nulls, rows) of a column in the new batch with the reference."""
    (new_nulls, new_rows), (ref_nulls, ref_rows) = new, ref
    table = np.array([[new_nulls, new_rows - new_nulls], [ref_nulls, ref_rows - ref_nulls]],
                     dtype=float)
    share_new, share_ref = new_nulls / new_rows, ref_nulls / ref_rows
    if table[:, 0].sum() == 0 or table[:, 1].sum() == 0:
        what = "no nulls" if table[:, 0].sum() == 0 else "only nulls"
        return Check(name="null_rate", column=column, test="chi2", passed=True,
                     message=f"{what} on both sides")
    chi2, p, phi = homogeneity(table, correction=False)
    failed = matters(p, phi, s.alpha, s.min_effect)
    return Check(
        name="null_rate", column=column, test="chi2", passed=not failed,
        statistic=float(chi2), p_value=float(p), effect=phi, threshold=s.min_effect,
        message=(f"null rate changed: {share_ref:.1%} → {share_new:.1%} "
                 f"(φ={phi:.3f} ≥ {s.min_effect}, p={p:.2g})") if failed
        else f"null rate {share_ref:.1%} → {share_new:.1%} (φ={phi:.3f}, p={p:.2g})",
    )


def check_null_rates(
    con: duckdb.DuckDBPyConnection,
    new_source: str,
    ref_source: str,
    schema: pa.Schema,
    reference_columns: Sequence[str],
    settings: DistributionSettings,
) -> list[Check]:
    """Test the null rate of every column both sides have (bar ``ignore``), on all rows."""
    if not settings.enabled:
        return []
    columns = [c for c in schema.names if c in reference_columns and c not in settings.ignore]
    if not columns:
        return []

    def counts(source: str) -> list[tuple[int, int]]:
        nulls = ", ".join(f"count(*) - count({_q(c)})" for c in columns)
        rows, *per_column = one(con, f"SELECT count(*), {nulls} FROM {source}")
        return [(int(n), int(rows)) for n in per_column]

    new, ref = counts(new_source), counts(ref_source)
    if ref[0][1] == 0 or new[0][1] == 0:
        return []
    return [_null_rate(c, n, r, settings) for c, n, r in zip(columns, new, ref, strict=True)]
