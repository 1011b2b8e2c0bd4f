"""Customers and what they bought, as a person looks them up beside their recommendations.

A recommendation makes sense or not next to the customer's history, so the recommendation
viewer shows both: the customer found by id or name, and their purchases with product names,
categories, quantities and dates. The tables are those ``monitoring.interactions`` names (the
interactions in CLEAN, the catalogue, the customers); a name that ``clean.pii`` keeps out of
CLEAN is read from RAW, where personal data stays, so only a signed-in user of the UI sees it.

Reading the tables takes a few hundred milliseconds; a lookup must not. :func:`customer_book`
reads them once per lake snapshot and keeps them, indexed by customer, until the next ingest
publishes a new one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from shipyard.config.schema import InteractionColumns
from shipyard.lake.snapshots import Snapshot, Snapshots
from shipyard.lake.tables import DeltaStore, Layer
from shipyard.project import Project

__all__ = ["Customer", "CustomerBook", "Product", "Purchase", "customer_book"]


@dataclass(frozen=True)
class Customer:
    id: str
    name: str | None
    """None: the customers table has no name column (or there is no customers table)."""
    details: dict[str, str]
    """The customers table's other descriptive columns (segment, region…)."""


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    category: str | None


@dataclass(frozen=True)
class Purchase:
    """Everything a customer bought of one product."""

    product: Product
    quantity: float
    orders: int
    first: date | None
    last: date | None


_DETAILS = ("segment", "region")
"""Columns of the customers table shown beside a name, when it has them."""


class CustomerBook:
    """The customers, the catalogue and every customer's purchases, at one lake snapshot."""

    def __init__(self, store: DeltaStore, columns: InteractionColumns, snapshot: Snapshot,
                 pii: frozenset[str] = frozenset()) -> None:
        self.store, self.snapshot = store, snapshot
        c = columns
        lines = self._read("clean", c.table, [c.customer, c.product, c.order, c.date,
                                        *([c.quantity] if c.quantity else [])])
        if lines is None or lines.empty:
            lines = pd.DataFrame(columns=[c.customer, c.product, c.order, c.date])
        quantity = (lines[c.quantity].astype(float) if c.quantity and c.quantity in lines
                    else pd.Series(1.0, index=lines.index))
        frame = pd.DataFrame({"customer": lines[c.customer].astype(str),
                              "product": lines[c.product].astype(str),
                              "order": lines[c.order].astype(str),
                              "date": pd.to_datetime(lines[c.date]),  # min/max in C, not Python
                              "quantity": quantity})
        per_product = (frame.groupby(["customer", "product"], sort=False)
                       .agg(quantity=("quantity", "sum"), orders=("order", "nunique"),
                            first=("date", "min"), last=("date", "max"))
                       .reset_index().sort_values(["customer", "last", "product"],
                                                  ascending=[True, False, True]))
        self._purchases = per_product.reset_index(drop=True)
        customers = self._purchases["customer"].to_numpy()
        starts = np.flatnonzero(np.r_[True, customers[1:] != customers[:-1]]) if len(
            customers) else np.array([], dtype=int)
        ends = np.r_[starts[1:], len(customers)] if len(customers) else starts
        self._rows = {str(customers[s]): (int(s), int(e)) for s, e in zip(starts, ends,
                                                                            strict=True)}
        self.products = self._catalogue(c)
        self.customers = self._customers(c, pii, set(self._rows))
        self._keys = sorted((f"{cid.casefold()}\n{(cust.name or '').casefold()}", cust)
                            for cid, cust in self.customers.items())
        """``id\nname`` in lower case, by id: what a search looks in."""

    def _read(self, layer: Layer, name: str, wanted: list[str]) -> pd.DataFrame | None:
        """The ``wanted`` columns it has of ``layer.name`` at the snapshot; None: no table."""
        version = self.snapshot.version(layer, name)
        if (self.snapshot.id is not None and version is None) \
                or not self.store.exists(layer, name):
            return None
        table = self.store.open(layer, name, version)
        names = table.schema().to_arrow().names
        return table.to_pyarrow_table(columns=[n for n in wanted if n in names]).to_pandas()

    def _catalogue(self, c: InteractionColumns) -> dict[str, Product]:
        found = self._read("clean", c.products, [c.product, c.product_name, c.category]) \
            if c.products else None
        if found is None:
            return {}
        ids = found[c.product].astype(str)
        names = found[c.product_name].astype(str) if c.product_name in found else ids
        cats = (found[c.category].astype(str) if c.category in found
                else pd.Series([None] * len(found), index=found.index))
        return {i: Product(i, n, k) for i, n, k in zip(ids, names, cats, strict=True)}

    def _customers(self, c: InteractionColumns, pii: frozenset[str],
                   buyers: set[str]) -> dict[str, Customer]:
        found = None
        if c.customers:
            found = self._read("clean", c.customers, [c.customer, *_DETAILS])
            layer: Layer = "raw" if c.customer_name in pii else "clean"
            named = self._read(layer, c.customers, [c.customer, c.customer_name])
            if found is not None and named is not None and c.customer_name in named:
                named = named.drop_duplicates(c.customer, keep="last")
                found = found.merge(named, on=c.customer, how="left")
        customers: dict[str, Customer] = {}
        if found is not None:
            for row in found.to_dict("records"):
                cid = str(row[c.customer])
                name = row.get(c.customer_name)
                customers[cid] = Customer(
                    cid, None if name is None or pd.isna(name) else str(name),
                    {k: str(row[k]) for k in _DETAILS if k in row and not pd.isna(row[k])})
        for cid in sorted(buyers - set(customers)):  # bought, but not in the customers table
            customers[cid] = Customer(cid, None, {})
        return customers

    def product(self, product_id: str) -> Product:
        """The catalogue's product (a product missing from it is shown by its id)."""
        return self.products.get(product_id) or Product(product_id, product_id, None)

    def history(self, customer_id: str) -> list[Purchase]:
        """What ``customer_id`` bought, one row per product, most recently bought first."""
        start, end = self._rows.get(customer_id, (0, 0))
        rows = self._purchases.iloc[start:end]
        return [Purchase(self.product(p), float(q), int(o), _day(f), _day(la))
                for p, q, o, f, la in zip(rows["product"], rows["quantity"], rows["orders"],
                                          rows["first"], rows["last"], strict=True)]

    def bought(self, customer_id: str) -> set[str]:
        start, end = self._rows.get(customer_id, (0, 0))
        return set(self._purchases["product"].iloc[start:end])

    def search(self, query: str, limit: int = 20) -> list[Customer]:
        """Customers whose id is ``query`` (any case), then those whose id or name contains it;
        by id."""
        text = query.strip().casefold()
        if not text:
            return []
        exact = self.customers.get(query.strip()) or next(
            (c for key, c in self._keys if key.startswith(f"{text}\n")), None)
        found = [] if exact is None else [exact]
        for key, customer in self._keys:  # by id already
            if len(found) >= limit:
                break
            if text in key and customer is not exact:
                found.append(customer)
        return found


def _day(value: pd.Timestamp) -> date | None:
    return None if pd.isna(value) else value.date()


_books: dict[tuple[str, str], CustomerBook] = {}
_lock = threading.Lock()


def customer_book(project: Project) -> CustomerBook:
    """The environment's :class:`CustomerBook` at the lake's current snapshot, read once per
    snapshot (the previous one is dropped when a newer snapshot is read)."""
    store = DeltaStore.of(project)
    snapshot = Snapshots(store).current()
    key = (project.lake_root, project.env_name)
    book = _books.get(key)
    if book is None or book.snapshot != snapshot:
        with _lock:
            book = _books.get(key)
            if book is None or book.snapshot != snapshot:
                book = CustomerBook(store, project.config.monitoring.interactions, snapshot,
                                    frozenset(project.config.pii_columns))
                _books[key] = book
    return book
