"""The recommender example ingested from the ERP on the machine's PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from deltalake import DeltaTable

from tests.e2e.cli import python, run


def test_ingest_from_postgresql_then_incremental_month(pg_url: str, tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    run("example", "recommender", str(shop), cwd=tmp_path)
    python("erp.py", "init", "--customers", "300", "--months", "3", "--url", pg_url, cwd=shop)
    env = {"ERP_URL": pg_url}
    run("ingest", cwd=shop, env=env)
    lines = DeltaTable(str(shop / "lake" / "clean" / "order_lines"))
    first = lines.to_pyarrow_table()
    assert first.num_rows > 1000
    assert str(first.schema.field("quantity").type) == "int32"
    assert str(first.schema.field("order_date").type) == "date32[day]"

    python("erp.py", "next-month", "--url", pg_url, cwd=shop)
    run("ingest", cwd=shop, env=env)
    lines = DeltaTable(str(shop / "lake" / "clean" / "order_lines"))
    ids = lines.to_pyarrow_table(columns=["order_line_id"]).column("order_line_id").to_pylist()
    assert len(ids) == len(set(ids)) > first.num_rows  # the new month only, nothing twice
