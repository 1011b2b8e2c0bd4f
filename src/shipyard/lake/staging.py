"""Stage a batch in a local Parquet file before anything reaches the lake.

A batch is validated before it lands, and it may be larger than memory, so it is first streamed
to ``<state>/staging/<batch id>.parquet``. Validation queries that file with DuckDB; landing
streams it into Delta; a rejected batch moves, file and all, to quarantine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from shipyard.faults import crash_point

__all__ = ["read_staged", "stage_batches"]


def stage_batches(
    batches: Iterable[pa.RecordBatch],
    path: Path,
    *,
    on_rows: Callable[[int], None] | None = None,
) -> tuple[int, pa.Schema | None]:
    """Write ``batches`` to ``path``; return the row count and schema (None if no rows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if writer is None:
                writer = pq.ParquetWriter(partial, batch.schema, compression="zstd")
            writer.write_batch(batch, row_group_size=1 << 20)
            rows += batch.num_rows
            crash_point("staging")
            if on_rows is not None:
                on_rows(batch.num_rows)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        return 0, None
    partial.replace(path)  # only a complete file ever carries the final name
    return rows, pq.read_schema(path)


def read_staged(path: Path) -> pa.RecordBatchReader:
    """Stream a staged batch back, without loading it whole."""
    dataset = pads.dataset(path, format="parquet")
    return pa.RecordBatchReader.from_batches(dataset.schema, dataset.to_batches())
