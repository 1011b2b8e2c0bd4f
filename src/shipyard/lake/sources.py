"""Read a source table or query from any SQLAlchemy database as a stream of Arrow batches.

Memory stays bounded by the chunk size whatever the table's size. PostgreSQL takes a fast path:
``COPY (query) TO STDOUT`` in CSV, parsed by Arrow's multi-threaded CSV reader while it streams,
which is several times faster than fetching Python row tuples. Every other database goes through
a server-side cursor in chunks of ``chunk_rows``.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from shipyard.config.schema import TableConfig
from shipyard.db import redact
from shipyard.errors import SourceError

__all__ = ["SourceQuery", "build_query", "read_batches"]


@dataclass(frozen=True)
class SourceQuery:
    """The SQL sent to the source for one batch, as recorded with the batch."""

    sql: str
    watermark_from: Any


def build_query(engine: Engine, table: TableConfig, watermark_from: Any) -> SourceQuery:
    """The batch query: the table or query, restricted to rows past the watermark."""
    preparer = engine.dialect.identifier_preparer
    base = table.query if table.query else f"SELECT * FROM {preparer.quote(table.table or '')}"
    if table.mode == "snapshot":
        return SourceQuery(sql=base, watermark_from=None)
    column = preparer.quote(table.watermark or "")
    sql = f"SELECT * FROM ({base}) AS src"
    if watermark_from is not None:
        literal = sa.literal(watermark_from).compile(
            dialect=engine.dialect, compile_kwargs={"literal_binds": True}
        )
        sql += f" WHERE {column} > {literal}"
    return SourceQuery(sql=sql + f" ORDER BY {column}", watermark_from=watermark_from)


def read_batches(engine: Engine, query: SourceQuery, *, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Stream the query's rows as Arrow record batches of about ``chunk_rows`` rows."""
    try:
        if engine.dialect.name == "postgresql":
            yield from _postgres_copy(engine, query.sql)
        else:
            yield from _cursor_chunks(engine, query.sql, chunk_rows)
    except (DBAPIError, engine.dialect.loaded_dbapi.Error) as error:
        # SQLAlchemy wraps driver errors; the raw cursor of the COPY path raises them bare.
        orig = getattr(error, "orig", None) or error
        reason = str(orig).strip().splitlines()[0]
        raise SourceError(
            f"source {redact(str(engine.url))}: query failed: {reason}\n  query: {query.sql}"
        ) from None


def _cursor_chunks(engine: Engine, sql: str, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    schema: pa.Schema | None = None
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
            sa.text(sql)
        )
        names = list(result.keys())
        for rows in result.partitions(chunk_rows):
            columns = list(zip(*rows, strict=True))
            if schema is None:
                arrays = [pa.array(col) for col in columns]
                schema = pa.schema([pa.field(n, a.type) for n, a in zip(names, arrays, strict=True)])
            else:
                arrays = [_to_type(col, field) for col, field in zip(columns, schema, strict=True)]
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _to_type(values: tuple[Any, ...], field: pa.Field) -> pa.Array:
    """Convert a later chunk's column to the type inferred from the first chunk."""
    try:
        return pa.array(values, type=field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as error:
        raise SourceError(
            f"column {field.name!r} changes type within the source ({field.type} in the first "
            f"chunk, then {pa.array(values).type}: {error}); write a 'query' with an explicit "
            f"CAST for this column in shipyard.yaml"
        ) from None


# PostgreSQL type OIDs → Arrow types for the CSV parser; anything else is read as text.
_PG_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    700: pa.float32(),
    701: pa.float64(),
    1700: pa.float64(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
}


class _CopyStream(io.RawIOBase):
    """A readable file over psycopg's COPY blocks, for Arrow's streaming CSV reader."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = bytes(next(self._blocks))
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def _postgres_copy(engine: Engine, sql: str) -> Iterator[pa.RecordBatch]:
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor:
            cursor.execute(f"SELECT * FROM ({sql}) AS q LIMIT 0")
            description = cursor.description or []
            names = [col.name for col in description]
            types = {col.name: _PG_TYPES.get(col.type_code, pa.string()) for col in description}
            with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
                blocks = iter(copy)
                first = next(blocks, None)
                if first is None:  # no rows: Arrow's CSV reader refuses an empty stream
                    return
                stream = io.BufferedReader(
                    _CopyStream(itertools.chain([first], blocks)), buffer_size=1 << 20
                )
                reader = pacsv.open_csv(
                    stream,
                    read_options=pacsv.ReadOptions(column_names=names, block_size=16 << 20),
                    convert_options=pacsv.ConvertOptions(
                        column_types=types,
                        null_values=[""],
                        strings_can_be_null=True,
                        quoted_strings_can_be_null=False,
                        true_values=["t"],
                        false_values=["f"],
                    ),
                )
                yield from reader
