"""A CSV or Parquet file as a source: the first hour with one's own data needs no database.

A source whose ``url`` is a path ending in ``.csv``, ``.tsv`` or ``.parquet`` (optionally
``.gz``; relative to the project folder, a glob for several files) is read by DuckDB, already
Shipyard's SQL engine over the lake. The file is one table, named after the source, so a table
entry says ``table: <source name>``, or gives a ``query`` in DuckDB SQL over that name. Batches
stream in chunks like a database's, and ``mode: incremental`` works the same: rows past the
watermark, so a file that is appended to lands only its new rows.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa

from shipyard.config.schema import TableConfig
from shipyard.errors import ConfigError, SourceError
from shipyard.lake import duck
from shipyard.lake.sources import SourceQuery

__all__ = ["file_query", "read_file", "reader"]


def reader(path: str) -> str:
    """The DuckDB table function reading ``path``."""
    if path.lower().endswith(".parquet"):
        return f"read_parquet({duck.literal(path)})"
    return f"read_csv({duck.literal(path)}, auto_detect = true)"


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return duck.literal(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceError(f"watermark value {value!r} cannot be compared in a file source")
    return repr(value)


def file_query(source: str, table_name: str, table: TableConfig,
               watermark_from: Any) -> SourceQuery:
    """The batch query over file source ``source`` (DuckDB SQL): the table or query,
    restricted to rows past the watermark."""
    if table.table is not None and table.table != source:
        raise ConfigError(
            f"tables.{table_name}.table: source {source!r} is a file, which holds one table "
            f"named after the source; write 'table: {source}' (or a 'query' over {source})")
    base = table.query or f"SELECT * FROM {duck.quote(source)}"
    if table.mode == "snapshot":
        return SourceQuery(sql=base, watermark_from=None)
    column = duck.quote(table.watermark or "")
    sql = f"SELECT * FROM ({base}) AS src"
    if watermark_from is not None:
        sql += f" WHERE {column} > {_literal(watermark_from)}"
    return SourceQuery(sql=sql + f" ORDER BY {column}", watermark_from=watermark_from)


def read_file(path: str, source: str, query: SourceQuery, *,
              chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Stream ``query`` over the file(s) at ``path`` (source ``source``) as Arrow batches."""
    if not glob.glob(path):
        raise SourceError(f"sources.{source}.url: no file at {path}; write the path of a CSV "
                          f"or Parquet file (relative to the project folder)")
    con = duck.connect()
    try:
        con.execute(f"CREATE VIEW {duck.quote(source)} AS SELECT * FROM {reader(path)}")
        yield from con.sql(query.sql).to_arrow_reader(chunk_rows)
    except duckdb.Error as error:
        reason = str(error).strip().splitlines()[0]
        raise SourceError(f"source {source} ({path}): query failed: {reason}\n"
                          f"  query: {query.sql}") from None
    finally:
        con.close()
