"""Prediction log: what each predict request got, appended to a Delta table, off the request path.

Requests put records on a bounded queue and move on; a thread appends them in batches every
second (or every 5,000 records) to ``<lake>/monitoring/predictions``, partitioned by model.
If the writer falls behind, records are dropped and counted, never the request slowed.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from datetime import UTC, datetime
from typing import Any

__all__ = ["PredictionLog"]

logger = logging.getLogger(__name__)


class PredictionLog:
    def __init__(self, lake_root: str, storage_options: dict[str, str] | None, *,
                 on_drop: Any = None, capacity: int = 100_000, flush_s: float = 1.0) -> None:
        self.path = f"{lake_root.rstrip('/')}/monitoring/predictions"
        self.storage_options = storage_options
        self.on_drop = on_drop
        self.flush_s = flush_s
        self.queue: queue.Queue[tuple[Any, ...]] = queue.Queue(capacity)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="shipyard-prediction-log",
                                        daemon=True)
        self.written = 0

    def start(self) -> None:
        self._thread.start()

    def record(self, model: str, version: int, inputs: list[dict[str, Any]],
                outputs: list[float], latency_ms: float) -> None:
        """Queue one request's rows; serialising them is the writer thread's work."""
        try:
            self.queue.put_nowait((datetime.now(UTC), model, version, inputs, outputs,
                                   latency_ms))
        except queue.Full:
            if self.on_drop is not None:
                self.on_drop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self.flush_s)
            self.flush()

    def flush(self) -> None:
        records: list[dict[str, Any]] = []
        while len(records) < 5000:
            try:
                when, model, version, inputs, outputs, latency = self.queue.get_nowait()
            except queue.Empty:
                break
            records.extend({"time": when, "model": model, "version": version,
                            "input": json.dumps(row, default=str), "output": float(output),
                            "latency_ms": latency}
                           for row, output in zip(inputs, outputs, strict=True))
        if not records:
            return
        import pyarrow as pa
        from deltalake import write_deltalake

        try:
            write_deltalake(self.path, pa.Table.from_pylist(records), mode="append",
                            partition_by=["model"], storage_options=self.storage_options)
            self.written += len(records)
        except Exception as error:  # noqa: BLE001 - the log must never take the server down
            logger.warning("could not append %d prediction records to %s: %s",
                           len(records), self.path, error)

    def close(self) -> None:
        """Stop the writer and append what is still queued."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        while not self.queue.empty():
            self.flush()
