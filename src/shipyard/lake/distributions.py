"""What a validation report compared, as data to plot: a batch's columns beside its reference.

A report keeps each column's test statistic, p-value and effect, not the values. To show a
person *what* moved, the batch (its file in the state store while it waits in quarantine, else
its rows in RAW) and the reference batches the report names (:mod:`shipyard.lake.reference`;
a report written before names one, ``batch N (raw version V)``) are read again, as seeded
samples of at most ``sample_rows`` rows like the tests themselves, and summarised per column:
shares per bin on common edges for numbers, shares of the most frequent values for anything
else.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from shipyard.lake import duck
from shipyard.lake.batches import Batch, BatchRegister
from shipyard.lake.files import BatchFiles
from shipyard.lake.reference import reference_view
from shipyard.lake.tables import DeltaStore
from shipyard.lake.validation import ValidationReport
from shipyard.state import StateStore

__all__ = ["ColumnDistribution", "compare_distributions"]

_REFERENCE = re.compile(r"batch (\d+) \(raw version (\d+)\)")
_SEED = 42


@dataclass(frozen=True)
class ColumnDistribution:
    """One column of a batch beside its reference: ``labels`` are bin centres (numbers) or
    values (categories), ``new``/``reference`` the share of each side's rows in each."""

    column: str
    kind: str  # "numeric" or "categorical"
    labels: list[str | float]
    new: list[float]
    reference: list[float]


def _batch_view(con: duckdb.DuckDBPyConnection, store: DeltaStore, files: BatchFiles,
                batch: Batch, name: str) -> bool:
    """Register the rows of ``batch`` as view ``name``: its kept file if still there, else
    its rows in RAW. False when neither can be read."""
    if batch.staged_path and files.exists(batch.staged_path):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM "
                    f"{duck.parquet(files.fetch(batch.staged_path))}")
        return True
    if not store.exists("raw", batch.table_name):
        return False
    reference_view(con, store, [batch], name)
    return True


def _reference_batches(register: BatchRegister, report: ValidationReport) -> list[Batch]:
    """The batches ``report`` compared with: its ids, or those its line names (older reports)."""
    ids = report.reference_batches
    if not ids and (match := _REFERENCE.search(report.reference)):
        ids = [int(match[1])]
    found = [register.find_one(i) for i in ids]
    return [b for b in found if b is not None]


def compare_distributions(store: DeltaStore, state: StateStore, register: BatchRegister,
                          batch: Batch, report: ValidationReport, *,
                          exclude: Collection[str] = (),
                          sample_rows: int = 20_000,
                          bins: int = 20, top: int = 15) -> list[ColumnDistribution]:
    """The distributions of the columns ``report`` tested (KS or chi-square), for ``batch``
    and the batches the report compared it with; [] when it had none or neither can be read.
    Columns in ``exclude`` (those declared PII) are never read back."""
    columns = list(dict.fromkeys(c.column for c in report.checks if c.column
                                 and c.name == "distribution" and c.passed is not None
                                 and c.column not in exclude))
    reference = _reference_batches(register, report)
    if not reference or not columns or not store.exists("raw", batch.table_name):
        return []
    con = duck.connect()
    files = BatchFiles(state)
    try:
        if not _batch_view(con, store, files, batch, "new_side"):
            return []
        reference_view(con, store, reference, "ref_side")
        cols = ", ".join(duck.quote(c) for c in columns)
        new, ref = (con.sql(f"SELECT {cols} FROM {side} USING SAMPLE reservoir({sample_rows} "
                            f"ROWS) REPEATABLE ({_SEED})").to_arrow_table()
                    for side in ("new_side", "ref_side"))
    finally:
        files.close()
    return [_column(c, new[c], ref[c], bins, top) for c in columns]


def _column(name: str, new: pa.ChunkedArray, ref: pa.ChunkedArray, bins: int,
            top: int) -> ColumnDistribution:
    t = new.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        a = np.asarray(new.drop_null().to_numpy(zero_copy_only=False), dtype=float)
        b = np.asarray(ref.drop_null().to_numpy(zero_copy_only=False), dtype=float)
        both = np.concatenate([a, b])
        if both.size == 0:
            return ColumnDistribution(name, "numeric", [], [], [])
        edges = np.histogram_bin_edges(both, bins=bins)
        shares = [(np.histogram(x, edges)[0] / max(x.size, 1)).round(4).tolist() for x in (a, b)]
        centres = ((edges[:-1] + edges[1:]) / 2).round(4).tolist()
        return ColumnDistribution(name, "numeric", centres, shares[0], shares[1])
    counts_new = _counts(new)
    counts_ref = _counts(ref)
    n_new, n_ref = max(sum(counts_new.values()), 1), max(sum(counts_ref.values()), 1)
    ranked = sorted(set(counts_new) | set(counts_ref),
                    key=lambda v: -(counts_new.get(v, 0) / n_new + counts_ref.get(v, 0) / n_ref))
    labels = ranked[:top]
    return ColumnDistribution(name, "categorical", list(labels),
                              [round(counts_new.get(v, 0) / n_new, 4) for v in labels],
                              [round(counts_ref.get(v, 0) / n_ref, 4) for v in labels])


def _counts(values: pa.ChunkedArray) -> dict[str, int]:
    counted = values.value_counts()
    return {("∅" if v is None else str(v)): int(n)
            for v, n in zip(counted.field("values").to_pylist(),
                            counted.field("counts").to_pylist(), strict=True)}
