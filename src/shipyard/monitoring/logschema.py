"""Where the server's logs live and what their rows hold: shared by the writer
(:mod:`shipyard.serving.predlog`) and the readers (drift, trace, compaction).

**One Delta table per model**, ``<lake>/monitoring/predictions/<model>``, and not one table
partitioned by model: a Delta table has one schema, and each model's signature is different.
With a table of its own, every input column of a model is a typed column (``age`` a double,
``sex`` a string), read by any engine (DuckDB, Spark) without parsing, with statistics per file
that a filter can prune on; one shared table would have to hold the union of every model's
columns (mostly nulls) or fall back to a JSON string. A later version that adds an input adds a
column (schema merge on append). Each table is partitioned by ``day`` (UTC, ``YYYY-MM-DD``): a
window or a retention delete reads or drops whole days, and a trace goes straight to the day
its request id was made.

Columns of a prediction table, one row per predicted row: ``time`` (UTC, microseconds),
``day``, ``request_id``, ``version`` (model version), ``row`` (its place in the request),
``probability`` (of the positive class; null for a regressor), ``prediction`` (the class
answered: an integer; a regressor's value: a double, as its table is its own), ``latency_ms``
(of the whole request), ``status`` (the HTTP status answered), then the signature's columns
with their MLflow types. A signature column named like one of these is stored as
``input_<name>`` (:func:`input_column`). A request the server refused (4xx: invalid rows, a
body too large) or failed (5xx) is one row with its status, time, id, latency and the version
then served, and no inputs or output: readers of inputs keep the answered rows
(:func:`answered_filter`), the error and rejection rules count the rest. Rows written before the
status column existed have a null status: they were all answered. A refusal's row carries no
``prediction`` column at all (appended, it is null), so that the table's first row cannot fix
the column's type for the model's answers (Delta would then cast a regressor's values to it).

The recommendations table ``<lake>/monitoring/recommendations``, one row per request:
``time, day, request_id, model, version, customer_id, items`` (product ids, best first),
``scores``, ``source`` (``results`` or ``popularity``), ``fallback``, ``k``, ``latency_ms``.

Request ids are ULIDs (26 Crockford base32 characters, the first ten the time in ms), so they
sort by time and name the day to look in; a well-formed id sent by the client
(``X-Request-ID``) is kept as it is.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from shipyard.names import Signature

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

__all__ = ["META_COLUMNS", "RECOMMENDATIONS", "answered_filter", "input_column", "new_request_id",
           "prediction_schema", "predictions_path", "recommendation_schema",
           "recommendations_path", "request_day", "well_formed"]

META_COLUMNS = ("time", "day", "request_id", "version", "row", "probability", "prediction",
                "latency_ms", "status")
RECOMMENDATIONS = "recommendations"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [first + second for first in _CROCKFORD for second in _CROCKFORD]
_PAIR_SHIFTS = tuple(range(120, -1, -10))
_ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
_WELL_FORMED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def predictions_path(lake_root: str, model: str) -> str:
    return f"{lake_root.rstrip('/')}/monitoring/predictions/{model}"


def recommendations_path(lake_root: str) -> str:
    return f"{lake_root.rstrip('/')}/monitoring/{RECOMMENDATIONS}"


def input_column(name: str) -> str:
    """The log column of the signature column ``name`` (renamed only if it is a log column's)."""
    return f"input_{name}" if name in META_COLUMNS else name


def _arrow_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    types = {"double": pa.float64(), "float": pa.float32(), "long": pa.int64(),
             "integer": pa.int32(), "boolean": pa.bool_(), "string": pa.string(),
             "binary": pa.binary(), "datetime": pa.timestamp("us")}
    return types.get(kind, pa.string())


def prediction_schema(inputs: Signature, *, regression: bool = False) -> pa.Schema:
    """The prediction table's schema for a signature of (column, MLflow type, required), of a
    classifier or a ``regression`` model (its ``prediction`` a double)."""
    import pyarrow as pa

    return pa.schema([
        ("time", pa.timestamp("us", tz="UTC")), ("day", pa.string()),
        ("request_id", pa.string()), ("version", pa.int64()), ("row", pa.int32()),
        ("probability", pa.float64()),
        ("prediction", pa.float64() if regression else pa.int64()), ("latency_ms", pa.float64()),
        ("status", pa.int32()),
        *((input_column(name), _arrow_type(kind)) for name, kind, _ in inputs)])


def answered_filter(names: list[str]) -> ds.Expression | None:
    """The filter keeping the rows of answered requests in a prediction table whose columns
    are ``names`` (None: a table from before refusals were logged holds nothing else)."""
    import pyarrow.dataset as ds

    if "status" not in names:
        return None
    return ds.field("status").is_null() | (ds.field("status") < 400)


def recommendation_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([
        ("time", pa.timestamp("us", tz="UTC")), ("day", pa.string()),
        ("request_id", pa.string()), ("model", pa.string()), ("version", pa.int64()),
        ("customer_id", pa.string()), ("items", pa.list_(pa.string())),
        ("scores", pa.list_(pa.float64())), ("source", pa.string()), ("fallback", pa.bool_()),
        ("k", pa.int32()), ("latency_ms", pa.float64())])


def new_request_id(now: float | None = None) -> str:
    """A ULID: 48 bits of milliseconds since the epoch, then 80 random bits, in base 32."""
    return ulid(int((time.time() if now is None else now) * 1000), os.urandom(10))


def ulid(millis: int, randomness: bytes) -> str:
    """The 26 Crockford base-32 digits of ``millis`` (48 bits) then ``randomness`` (10 bytes).

    Every request gets one: the digits are taken two at a time (13 look-ups of 10 bits in a
    table of every pair), half the time of picking them one by one."""
    value = (millis << 80) | int.from_bytes(randomness, "big")
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])


def well_formed(value: str) -> bool:
    """An incoming ``X-Request-ID`` worth keeping: 1–128 letters, digits and ``._:-``."""
    return bool(_WELL_FORMED.match(value))


def request_day(request_id: str) -> date | None:
    """The UTC day a ULID was made (None for an id that is not one)."""
    if not _ULID.match(request_id):
        return None
    millis = 0
    for char in request_id[:10]:
        millis = millis * 32 + _CROCKFORD.index(char)
    return datetime.fromtimestamp(millis / 1000, UTC).date()
