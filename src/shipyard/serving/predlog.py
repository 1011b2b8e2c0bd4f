"""Prediction log: what each predict and recommendation request got, appended to Delta tables,
off the request path.

Requests put records on a bounded queue and move on; a thread appends them in batches every
second (or every 5,000 rows) to one typed table per model and one for recommendations (the
layout and columns: :mod:`shipyard.monitoring.logschema`). If the writer falls behind,
records are dropped and counted, never the request slowed.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shipyard.monitoring.logschema import (
    input_column,
    prediction_schema,
    predictions_path,
    recommendation_schema,
    recommendations_path,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["PredictionLog"]

logger = logging.getLogger(__name__)

Inputs = list[tuple[str, str, bool]]
_FLUSH_ROWS = 5000


@dataclass(frozen=True)
class _Predicted:
    when: datetime
    request_id: str
    model: str
    version: int
    inputs: Inputs  # the signature the rows were validated against
    rows: list[dict[str, Any]]
    probabilities: list[float]
    latency_ms: float


@dataclass(frozen=True)
class _Recommended:
    when: datetime
    request_id: str
    model: str
    version: int | None  # of the results set served (None if the store does not say)
    customer_id: str
    items: list[tuple[str, float]]
    source: str
    k: int
    latency_ms: float


class PredictionLog:
    def __init__(self, lake_root: str, storage_options: dict[str, str] | None, *,
                 on_drop: Any = None, capacity: int = 100_000, flush_s: float = 1.0) -> None:
        self.lake_root = lake_root
        self.storage_options = storage_options
        self.on_drop = on_drop
        self.flush_s = flush_s
        self.queue: queue.Queue[_Predicted | _Recommended] = queue.Queue(capacity)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="shipyard-prediction-log",
                                        daemon=True)
        self.written = 0

    def start(self) -> None:
        self._thread.start()

    def _put(self, record: _Predicted | _Recommended) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            if self.on_drop is not None:
                self.on_drop()

    def record(self, model: str, version: int, inputs: Inputs, rows: list[dict[str, Any]],
               probabilities: list[float], latency_ms: float, *, request_id: str,
               when: datetime | None = None) -> None:
        """Queue one predict request's rows (validated against ``inputs``, the signature);
        making columns of them is the writer thread's work."""
        self._put(_Predicted(when or datetime.now(UTC), request_id, model, version, inputs,
                             rows, probabilities, latency_ms))

    def record_recommendation(self, model: str, version: int | None, customer_id: str,
                              items: list[tuple[str, float]], *, source: str, k: int,
                              latency_ms: float, request_id: str,
                              when: datetime | None = None) -> None:
        """Queue what one recommendations request was served (``source``: results or
        popularity, the fallback)."""
        self._put(_Recommended(when or datetime.now(UTC), request_id, model, version,
                               customer_id, items, source, k, latency_ms))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self.flush_s)
            self.flush()

    def flush(self) -> None:
        """Append up to 5,000 queued rows, one write per table (and per signature)."""
        Key = tuple[str, tuple[tuple[str, str, bool], ...] | None]  # path, signature
        groups: dict[Key, list[Any]] = {}
        rows = 0
        while rows < _FLUSH_ROWS:
            try:
                record = self.queue.get_nowait()
            except queue.Empty:
                break
            key: Key
            if isinstance(record, _Predicted):
                key = (predictions_path(self.lake_root, record.model), tuple(record.inputs))
                rows += len(record.rows)
            else:
                key, rows = (recommendations_path(self.lake_root), None), rows + 1
            groups.setdefault(key, []).append(record)
        for (path, signature), records in groups.items():
            table = (_recommendations(records) if signature is None
                     else _predictions(records, list(signature)))
            self._append(path, table)

    def _append(self, path: str, table: pa.Table) -> None:
        from deltalake import write_deltalake

        try:
            write_deltalake(path, table, mode="append", partition_by=["day"],
                            schema_mode="merge", storage_options=self.storage_options)
            self.written += table.num_rows
        except Exception as error:  # noqa: BLE001 - the log must never take the server down
            logger.warning("could not append %d records to %s: %s", table.num_rows, path, error)

    def close(self) -> None:
        """Stop the writer and append what is still queued."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        while not self.queue.empty():
            self.flush()


def _predictions(records: list[_Predicted], inputs: Inputs) -> pa.Table:
    """One row per predicted row: the request's fields repeated, then its typed inputs."""
    import pyarrow as pa

    columns: dict[str, list[Any]] = {name: [] for name in (
        "time", "day", "request_id", "version", "row", "probability", "prediction",
        "latency_ms")}
    values: dict[str, list[Any]] = {name: [] for name, _, _ in inputs}
    for r in records:
        n = len(r.rows)
        for name, value in (("time", r.when), ("day", r.when.date().isoformat()),
                            ("request_id", r.request_id), ("version", r.version),
                            ("latency_ms", r.latency_ms)):
            columns[name].extend([value] * n)
        columns["row"].extend(range(n))
        columns["probability"].extend(r.probabilities)
        columns["prediction"].extend(int(p >= 0.5) for p in r.probabilities)
        for name, column in values.items():
            column.extend(row.get(name) for row in r.rows)
    for name, _, _ in inputs:
        columns[input_column(name)] = values[name]
    return pa.Table.from_pydict(columns, schema=prediction_schema(inputs))


def _recommendations(records: list[_Recommended]) -> pa.Table:
    import pyarrow as pa

    return pa.Table.from_pylist([
        {"time": r.when, "day": r.when.date().isoformat(), "request_id": r.request_id,
         "model": r.model, "version": r.version, "customer_id": r.customer_id,
         "items": [str(p) for p, _ in r.items], "scores": [float(s) for _, s in r.items],
         "source": r.source, "fallback": r.source != "results", "k": r.k,
         "latency_ms": r.latency_ms} for r in records], schema=recommendation_schema())
