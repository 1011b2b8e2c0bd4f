"""Customers and their purchases as the recommendation viewer looks them up, read from real
Delta tables: names from RAW when ``clean.pii`` keeps them out of CLEAN, one row per product
bought, and one read per lake snapshot."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from shipyard.lake.tables import DeltaStore
from shipyard.project import Project
from shipyard.ui.customers import customer_book

YAML = """\
project: p
environments: {dev: {lake: lake}}
sources: {erp: {url: "sqlite:///erp.db"}}
tables:
  customers: {source: erp, table: customers, clean: {pii: [customer_name]}}
  products: {source: erp, table: products}
  order_lines: {source: erp, table: order_lines}
"""


def lines(*rows: tuple[str, str, int, str, int]) -> pa.Table:
    customer, product, order, day, quantity = zip(*rows, strict=True)
    return pa.table({"customer_id": list(customer), "product_id": list(product),
                     "order_id": pa.array(order, pa.int64()),
                     "order_date": pa.array([date.fromisoformat(d) for d in day]),
                     "quantity": pa.array(quantity, pa.int32())})


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "shipyard.yaml").write_text(YAML)
    project = Project.open(tmp_path)
    store = DeltaStore.of(project)
    store.write("raw", "customers", pa.table({
        "customer_id": ["C1", "C2", "C3"], "customer_name": ["Lars Olsen", "Rita Olsen", "Nils Engel"],
        "segment": ["plumber", "retailer", "installer"], "region": ["west", "east", "west"]}),
        mode="overwrite", metadata={})
    store.write("clean", "customers", pa.table({
        "customer_id": ["C1", "C2", "C3"], "segment": ["plumber", "retailer", "installer"],
        "region": ["west", "east", "west"]}), mode="overwrite", metadata={})
    store.write("clean", "products", pa.table({
        "product_id": ["P1", "P2"], "product_name": ["Cordless drill", "Wall plugs 8mm"],
        "category": ["tools", "fasteners"]}), mode="overwrite", metadata={})
    store.write("clean", "order_lines", lines(
        ("C1", "P1", 1, "2026-01-05", 2), ("C1", "P2", 1, "2026-01-05", 10),
        ("C1", "P2", 2, "2026-03-01", 5), ("C2", "P9", 3, "2026-02-01", 1)),
        mode="overwrite", metadata={})
    return project


def test_a_customer_is_found_by_id_or_a_name_kept_in_raw(project: Project) -> None:
    book = customer_book(project)
    assert [c.id for c in book.search("olsen")] == ["C1", "C2"]  # names are PII: read from RAW
    assert [c.id for c in book.search("c2")] == ["C2"]
    found = book.search("C1")[0]
    assert (found.name, found.details) == ("Lars Olsen", {"segment": "plumber", "region": "west"})
    assert book.search("  ") == [] and book.search("nobody") == []


def test_the_history_has_one_row_per_product_most_recent_first(project: Project) -> None:
    book = customer_book(project)
    plugs, drill = book.history("C1")
    assert (plugs.product.name, plugs.product.category) == ("Wall plugs 8mm", "fasteners")
    assert (plugs.quantity, plugs.orders, plugs.first, plugs.last) == (
        15, 2, date(2026, 1, 5), date(2026, 3, 1))
    assert (drill.product.id, drill.quantity, drill.orders) == ("P1", 2, 1)
    (unknown,) = book.history("C2")  # a product missing from the catalogue shows its id
    assert (unknown.product.name, unknown.product.category) == ("P9", None)
    assert book.history("C3") == [] and book.history("C404") == []
    assert book.bought("C1") == {"P1", "P2"}


def test_the_tables_are_read_once_until_the_lake_moves(project: Project) -> None:
    book = customer_book(project)
    assert customer_book(project) is book
    DeltaStore.of(project).write("clean", "order_lines", lines(("C3", "P1", 4, "2026-04-01", 1)),
                                 mode="append", metadata={})
    again = customer_book(project)
    assert again is not book and [p.product.id for p in again.history("C3")] == ["P1"]
