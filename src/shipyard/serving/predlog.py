"""Prediction log: what each predict and recommendation request got, appended to Delta tables,
off the request path.

Requests put records on a bounded queue and move on; a thread appends them in batches every
second (or every 5,000 rows) to one typed table per model and one for recommendations (the
layout and columns: :mod:`shipyard.monitoring.logschema`). If the writer falls behind,
records are dropped and counted, never the request slowed.

A predict request the server refuses (invalid rows: 422, too large: 413) or fails (5xx) never
reaches the route that logs answers, so :class:`LoggedRefusals`, a middleware, logs its status
instead: the error and rejection rates of ``monitor check`` then come from the log like the
latency does.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable
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
from shipyard.names import Signature
from shipyard.serving.request_ids import request_id

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["LoggedRefusals", "PredictionLog"]

logger = logging.getLogger(__name__)

Inputs = Signature
_FLUSH_ROWS = 5000
_COMMIT_ATTEMPTS = 5


@dataclass(frozen=True)
class _Predicted:
    when: datetime
    request_id: str
    model: str
    version: int
    inputs: Inputs  # the signature the rows were validated against
    rows: list[dict[str, Any]]
    probabilities: list[float]  # a regressor's values, when ``regression``
    latency_ms: float
    regression: bool = False


@dataclass(frozen=True)
class _Refused:
    """A predict request answered with an error status: no rows were predicted."""

    when: datetime
    request_id: str
    model: str
    version: int | None  # the version served then (None: none loaded yet)
    status: int
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
        self.queue: queue.Queue[_Predicted | _Refused | _Recommended] = queue.Queue(capacity)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="shipyard-prediction-log",
                                        daemon=True)
        self.written = 0

    def start(self) -> None:
        self._thread.start()

    def _put(self, record: _Predicted | _Refused | _Recommended) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            if self.on_drop is not None:
                self.on_drop()

    def record(self, model: str, version: int, inputs: Inputs, rows: list[dict[str, Any]],
               probabilities: list[float], latency_ms: float, *, request_id: str,
               when: datetime | None = None, regression: bool = False) -> None:
        """Queue one predict request's rows (validated against ``inputs``, the signature) and
        what it answered (``probabilities``, or a ``regression`` model's values); making
        columns of them is the writer thread's work."""
        self._put(_Predicted(when or datetime.now(UTC), request_id, model, version, inputs,
                             rows, probabilities, latency_ms, regression))

    def record_refusal(self, model: str, version: int | None, status: int, latency_ms: float, *,
                       request_id: str, when: datetime | None = None) -> None:
        """Queue one predict request answered with the error ``status`` (4xx or 5xx)."""
        self._put(_Refused(when or datetime.now(UTC), request_id, model, version, status,
                           latency_ms))

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
        """Append up to 5,000 queued rows, one write per table (and per signature; refusals,
        which have none, apart)."""
        # path, and (*signature, regression) or the kind of record
        Key = tuple[str, tuple[Any, ...] | str]
        groups: dict[Key, list[Any]] = {}
        rows = 0
        while rows < _FLUSH_ROWS:
            try:
                record = self.queue.get_nowait()
            except queue.Empty:
                break
            key: Key
            if isinstance(record, _Predicted):
                key = (predictions_path(self.lake_root, record.model),
                       (*record.inputs, record.regression))
                rows += len(record.rows)
            elif isinstance(record, _Refused):
                key, rows = (predictions_path(self.lake_root, record.model), "refused"), rows + 1
            else:
                key, rows = (recommendations_path(self.lake_root), "recommended"), rows + 1
            groups.setdefault(key, []).append(record)
        for (path, signature), records in groups.items():
            if isinstance(signature, tuple):
                table = _predictions(records, list(signature[:-1]), regression=signature[-1])
            elif signature == "refused":
                table = _refusals(records)
            else:
                table = _recommendations(records)
            self._append(path, table)

    def _append(self, path: str, table: pa.Table) -> None:
        """Append ``table``; a commit lost to other replicas appending to the same table (the
        team deployment: every replica logs into one table each second; found by ``deploy
        rehearse``) is tried again after a random pause, rather than its rows dropped."""
        import random

        from deltalake import write_deltalake
        from deltalake.exceptions import CommitFailedError

        for attempt in range(1, _COMMIT_ATTEMPTS + 1):
            try:
                write_deltalake(path, table, mode="append", partition_by=["day"],
                                schema_mode="merge", storage_options=self.storage_options)
                self.written += table.num_rows
                return
            except CommitFailedError as error:
                if attempt == _COMMIT_ATTEMPTS:
                    logger.warning("could not append %d records to %s after %d attempts: %s",
                                   table.num_rows, path, attempt, error)
                    return
                time.sleep(random.uniform(0.05, 0.5))  # noqa: S311 - a jitter, not a secret
            except Exception as error:  # noqa: BLE001 - the log must never take the server down
                logger.warning("could not append %d records to %s: %s", table.num_rows, path,
                               error)
                return

    def close(self) -> None:
        """Stop the writer and append what is still queued."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        while not self.queue.empty():
            self.flush()


def _predictions(records: list[_Predicted], inputs: Inputs, *, regression: bool) -> pa.Table:
    """One row per predicted row: the request's fields repeated, what was answered (a
    classifier's probability and class, or a regressor's value), then its typed inputs."""
    import pyarrow as pa

    columns: dict[str, list[Any]] = {name: [] for name in (
        "time", "day", "request_id", "version", "row", "probability", "prediction",
        "latency_ms", "status")}
    values: dict[str, list[Any]] = {name: [] for name, _, _ in inputs}
    for r in records:
        n = len(r.rows)
        for name, value in (("time", r.when), ("day", r.when.date().isoformat()),
                            ("request_id", r.request_id), ("version", r.version),
                            ("latency_ms", r.latency_ms), ("status", 200)):
            columns[name].extend([value] * n)
        columns["row"].extend(range(n))
        if regression:
            columns["probability"].extend([None] * n)
            columns["prediction"].extend(r.probabilities)
        else:
            columns["probability"].extend(r.probabilities)
            columns["prediction"].extend(int(p >= 0.5) for p in r.probabilities)
        for name, column in values.items():
            column.extend(row.get(name) for row in r.rows)
    for name, _, _ in inputs:
        columns[input_column(name)] = values[name]
    return pa.Table.from_pydict(columns, schema=prediction_schema(inputs, regression=regression))


def _refusals(records: list[_Refused]) -> pa.Table:
    """One row per refused or failed request, with no inputs and no ``prediction`` (appended,
    those columns are null on it; see :mod:`shipyard.monitoring.logschema`)."""
    import pyarrow as pa

    schema = prediction_schema([])
    schema = schema.remove(schema.get_field_index("prediction"))
    return pa.Table.from_pylist([
        {"time": r.when, "day": r.when.date().isoformat(), "request_id": r.request_id,
         "version": r.version, "row": 0, "latency_ms": r.latency_ms, "status": r.status}
        for r in records], schema=schema)


_PREDICT_PATH = re.compile(r"^/v1/models/(?P<model>[^/]+)/predict$")
_NOT_LOGGED = frozenset({401, 403, 404, 405})
"""Refusals before the caller or the model is known: an unauthenticated caller, or a model
not served here, must not write to a model's log."""


class LoggedRefusals:
    """ASGI middleware: logs the predict requests of served models that got an error status.

    Placed inside :class:`~shipyard.serving.request_ids.RequestIds` (the id is known) and
    outside the limits (their 413 and 503 refusals are seen). ``served(model)`` says whether
    ``model`` is served here and which version answers (None: not loaded yet); a request of
    any other model is not logged, so no one can make tables by naming models.
    """

    def __init__(self, app: Any, *, log: PredictionLog | None,
                 served: Callable[[str], tuple[bool, int | None]]) -> None:
        self.app = app
        self.log = log
        self.served = served

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        found = (_PREDICT_PATH.match(scope.get("path", ""))
                 if scope["type"] == "http" and self.log is not None else None)
        if found is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes is answered 500 by Starlette

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._record(found["model"], status, started, scope)

    def _record(self, model: str, status: int, started: float, scope: dict[str, Any]) -> None:
        if status < 400 or status in _NOT_LOGGED or self.log is None:
            return  # the answered request itself is logged by the route, with its rows
        served, version = self.served(model)
        if not served:
            return
        self.log.record_refusal(model, version, status, (time.perf_counter() - started) * 1000,
                                request_id=request_id(scope))


def _recommendations(records: list[_Recommended]) -> pa.Table:
    import pyarrow as pa

    return pa.Table.from_pylist([
        {"time": r.when, "day": r.when.date().isoformat(), "request_id": r.request_id,
         "model": r.model, "version": r.version, "customer_id": r.customer_id,
         "items": [str(p) for p, _ in r.items], "scores": [float(s) for _, s in r.items],
         "source": r.source, "fallback": r.source != "results", "k": r.k,
         "latency_ms": r.latency_ms} for r in records], schema=recommendation_schema())
