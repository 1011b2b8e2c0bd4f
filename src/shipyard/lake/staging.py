"""Stage a batch in a local Parquet file before anything reaches the lake.

A batch is validated before it lands, and it may be larger than memory, so it is first streamed
to a local ``<batch id>.parquet`` (:mod:`shipyard.lake.files` says where, and when it goes into
the state store). Validation queries that file with DuckDB; landing streams it into Delta; a
rejected batch's file goes to quarantine.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from queue import Empty, Queue

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from shipyard.faults import crash_point

__all__ = ["read_staged", "stage_batches"]


def _prefetch(batches: Iterable[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Read ``batches`` in a thread, at most ``depth`` ahead, so reading the source overlaps
    with writing the staging file (both release the GIL) while memory stays bounded."""
    queue: Queue[pa.RecordBatch | Exception | None] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                queue.put(batch)
            queue.put(None)
        except Exception as error:  # noqa: BLE001 (handed to the consumer, raised there)
            queue.put(error)

    thread = threading.Thread(target=produce, name="shipyard-source-reader", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(Empty):
                queue.get_nowait()
            thread.join(timeout=0.05)


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
        for batch in _prefetch(batches):
            if batch.num_rows == 0:
                continue
            if writer is None:
                writer = pq.ParquetWriter(partial, batch.schema, compression="lz4")
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
    # Small batches and little readahead: the Delta writer queues what it is handed, so the
    # batch size bounds the memory of a write that falls behind its reader.
    batches = dataset.to_batches(batch_size=1 << 16, batch_readahead=2, fragment_readahead=1)
    return pa.RecordBatchReader.from_batches(dataset.schema, batches)
