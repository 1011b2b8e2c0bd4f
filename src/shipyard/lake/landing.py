"""Land a validated batch: RAW and CLEAN (concurrently), then mark it landed in the register.

Each Delta commit carries the batch id, and landing skips a layer whose newest version already
holds the batch. So landing is idempotent: a process killed anywhere in it leaves every table at
a complete version (Delta commits are atomic), and the next ingest rolls the batch forward from
its staged file instead of reading it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa

from shipyard.config.schema import TableConfig
from shipyard.faults import crash_point
from shipyard.lake import duck
from shipyard.lake.batches import Batch, BatchRegister
from shipyard.lake.clean import clean_select
from shipyard.lake.staging import read_staged
from shipyard.lake.tables import DeltaStore

__all__ = ["BATCH_COLUMN", "land_batch"]

BATCH_COLUMN = "_batch_id"
"""Column added to RAW rows of incremental tables: which batch brought the row (a partition)."""

_ROWS_PER_BATCH = 1 << 16


def _with_batch_column(reader: pa.RecordBatchReader, batch_id: int) -> pa.RecordBatchReader:
    schema = reader.schema.append(pa.field(BATCH_COLUMN, pa.int64()))

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            ids = pa.array([batch_id] * batch.num_rows, type=pa.int64())
            yield pa.RecordBatch.from_arrays([*batch.columns, ids], schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def _land_raw(store: DeltaStore, batch: Batch, name: str, incremental: bool, staged: Path,
              metadata: dict[str, object]) -> int | None:
    if store.last_metadata("raw", name).get("batch_id") == str(batch.id):
        return store.version("raw", name)  # landed by an ingest that was killed afterwards
    raw = read_staged(staged)
    version = store.write(
        "raw", name,
        _with_batch_column(raw, batch.id) if incremental else raw,
        mode="append" if incremental else "overwrite",
        metadata={**metadata, "layer": "raw"},
        partition_by=[BATCH_COLUMN] if incremental else None,
    )
    crash_point("after-raw")
    return version


def _land_clean(store: DeltaStore, batch: Batch, name: str, table: TableConfig, staged: Path,
                metadata: dict[str, object]) -> int | None:
    if store.last_metadata("clean", name).get("batch_id") == str(batch.id):
        return store.version("clean", name)
    con = duck.connect()
    schema = read_staged(staged).schema
    reader = con.sql(clean_select(schema, table.clean, name, duck.parquet(staged))).to_arrow_reader(
        _ROWS_PER_BATCH
    )
    return store.write("clean", name, reader,
                       mode="append" if table.mode == "incremental" else "overwrite",
                       metadata={**metadata, "layer": "clean"})


def land_batch(
    store: DeltaStore,
    register: BatchRegister,
    batch: Batch,
    name: str,
    table: TableConfig,
    *,
    staged: Path,
    accepted_by: str | None = None,
) -> Batch:
    """Write ``batch`` (staged at ``staged``) to RAW and CLEAN; return its landed record."""
    register.update(batch.id, status="landing")
    incremental = table.mode == "incremental"
    metadata: dict[str, object] = {
        "batch_id": batch.id,
        "rows": batch.rows,
        "source_query": batch.source_query,
        "report": batch.report_path,
        "accepted_by": accepted_by,
        "reference_role": batch.reference_role,  # how it counts in later references
    }
    # RAW and CLEAN are independent tables: write them at once (both writers release the GIL).
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="shipyard-land") as pool:
        raw = pool.submit(_land_raw, store, batch, name, incremental, staged, metadata)
        clean = pool.submit(_land_clean, store, batch, name, table, staged, metadata)
        raw_version, clean_version = raw.result(), clean.result()
    crash_point("after-clean")
    landed = register.update(
        batch.id,
        status="landed",
        raw_version=raw_version,
        clean_version=clean_version,
        staged_path=None,
    )
    staged.unlink(missing_ok=True)
    return landed
