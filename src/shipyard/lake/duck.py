"""Small DuckDB helpers shared by validation, CLEAN and CURATED.

DuckDB 2 refuses a new query while an ``execute()`` result is unread, so scalar queries go
through relations (``con.sql(...).fetchall()``), which always run to completion.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb

MEMORY_LIMIT = "512MB"
"""DuckDB spills to disk past this, so validating a huge batch keeps a bounded footprint."""

__all__ = ["MEMORY_LIMIT", "connect", "literal", "one", "parquet", "quote", "values"]


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory connection with UTC as its time zone, so timestamps never shift.

    It spills to this process's folder in the system's temporary folder, not to DuckDB's
    default ``.tmp`` of the working directory, which a pod may not be able to write and which
    is nobody's business at team scale.
    """
    spill = Path(tempfile.gettempdir()) / "shipyard-duckdb" / str(os.getpid())
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "preserve_insertion_order": False,
                                 "temp_directory": str(spill)})
    con.execute("SET TimeZone = 'UTC'")
    return con


def quote(name: str) -> str:
    """A column or table name as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def parquet(path: Path) -> str:
    """A ``read_parquet`` table expression for ``path``."""
    return f"read_parquet({literal(str(path))})"


def literal(text: str) -> str:
    """A string as a DuckDB SQL literal."""
    return "'" + text.replace("'", "''") + "'"


def one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The first row of a query."""
    return con.sql(sql).fetchall()[0]


def values(con: duckdb.DuckDBPyConnection, sql: str) -> list[Any]:
    """The first column of every row of a query."""
    return [row[0] for row in con.sql(sql).fetchall()]
