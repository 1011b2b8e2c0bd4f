"""Reading sources in chunks, on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from shipyard.config.schema import TableConfig
from shipyard.db import create_engine_for
from shipyard.errors import ConfigError, SourceError
from shipyard.lake.sources import build_query, read_batches
from shipyard.lake.staging import stage_batches

ROWS = [
    (1, "a", 1.5, dt.date(2026, 1, 1), True),
    (2, "", None, dt.date(2026, 1, 2), False),  # empty string and NULL must stay distinct
    (3, None, 3.0, None, None),
    (4, 'quote " and, comma', 4.25, dt.date(2026, 1, 4), True),
    (5, "line\nbreak", 5.0, dt.date(2026, 1, 5), False),
]


def fill(engine: sa.Engine) -> None:
    meta = sa.MetaData()
    table = sa.Table("items", meta, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("name", sa.Text), sa.Column("price", sa.Float),
                     sa.Column("day", sa.Date), sa.Column("flag", sa.Boolean))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [dict(zip(["id", "name", "price", "day", "flag"], r, strict=True))
                                      for r in ROWS])


def read_all(engine: sa.Engine, table: TableConfig, watermark=None, chunk_rows=2) -> pa.Table:
    query = build_query(engine, table, watermark)
    return pa.Table.from_batches(list(read_batches(engine, query, chunk_rows=chunk_rows)))


INCREMENTAL = TableConfig(source="s", table="items", mode="incremental", watermark="id")


def test_sqlite_reads_in_chunks_past_the_watermark(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path}/s.db", purpose="test")
    fill(engine)
    batches = list(read_batches(engine, build_query(engine, INCREMENTAL, 1), chunk_rows=2))
    assert [b.num_rows for b in batches] == [2, 2]
    table = pa.Table.from_batches(batches)
    assert table.column("id").to_pylist() == [2, 3, 4, 5]
    assert table.column("name").to_pylist() == ["", None, 'quote " and, comma', "line\nbreak"]


@pytest.mark.postgres
def test_postgres_copy_path_keeps_types_nulls_and_awkward_text(pg_url: str) -> None:
    engine = create_engine_for(pg_url, purpose="test")
    fill(engine)
    table = read_all(engine, INCREMENTAL, watermark=None)
    assert table.schema.field("id").type == pa.int32()
    assert table.schema.field("price").type == pa.float64()
    assert table.schema.field("day").type == pa.date32()
    assert table.schema.field("flag").type == pa.bool_()
    assert table.to_pylist() == [dict(zip(["id", "name", "price", "day", "flag"], r, strict=True))
                                 for r in ROWS]
    assert read_all(engine, INCREMENTAL, watermark=3).column("id").to_pylist() == [4, 5]
    engine.dispose()


@pytest.mark.postgres
def test_postgres_empty_result_and_bad_query(pg_url: str, tmp_path: Path) -> None:
    engine = create_engine_for(pg_url, purpose="test")
    fill(engine)
    rows, schema = stage_batches(
        read_batches(engine, build_query(engine, INCREMENTAL, 99), chunk_rows=10),
        tmp_path / "b.parquet",
    )
    assert (rows, schema) == (0, None)
    bad = TableConfig(source="s", query="SELECT nope FROM items")
    with pytest.raises(SourceError, match='column "nope" does not exist'):
        read_all(engine, bad)
    engine.dispose()


def test_malformed_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a SQLAlchemy URL"):
        create_engine_for("erp.db", purpose="sources.erp")
