"""ERP simulator of a B2B distributor: customers, products, orders and order lines.

    python erp.py init [--customers N] [--products N] [--months N] [--seed S] [--url URL]
    python erp.py next-month [--drift] [--url URL]

The data is deterministic (same flags, same rows) and shaped like a real distributor's:
power-law product popularity, segment×category affinity (electricians buy electrical), repeat
purchases, heavy-tailed customer activity and seasonality (heating in winter). ``--drift``
writes a month whose order lines have shifted: much larger quantities, much higher discounts
and a tools-heavy mix, which Shipyard's validation must catch. The default database is
``erp.db`` (SQLite) next to this script; any SQLAlchemy URL works.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import sqlalchemy as sa

SEGMENTS = ["installer", "contractor", "plumber", "electrician", "facility_manager", "retailer"]
REGIONS = ["north", "south", "east", "west", "central"]
CATEGORIES = ["plumbing", "electrical", "tools", "heating", "fasteners", "safety",
              "ventilation", "lighting"]
CHANNELS = ["web", "phone", "branch"]
BRANDS = ["Acme", "Borel", "Castor", "Delta", "Eiger", "Fenix", "Gravo", "Hexa"]
FIRST = ["Ana", "Ben", "Carla", "David", "Eva", "Filip", "Greta", "Hugo", "Ines", "Jonas",
         "Klara", "Lars", "Mila", "Nils", "Olga", "Pavel", "Rita", "Sven", "Tina", "Ugo"]
LAST = ["Berg", "Costa", "Dahl", "Engel", "Fischer", "Garcia", "Holm", "Ivanov", "Jensen",
        "Keller", "Lopez", "Moreau", "Novak", "Olsen", "Petit", "Rossi", "Schmidt", "Weber"]

# How much each segment prefers each category (rows: SEGMENTS, columns: CATEGORIES).
AFFINITY = np.array([
    [2.0, 1.0, 1.0, 3.0, 1.0, 1.0, 2.0, 1.0],   # installer
    [1.0, 1.0, 3.0, 1.0, 3.0, 2.0, 1.0, 1.0],   # contractor
    [4.0, 0.5, 1.0, 2.0, 1.0, 0.5, 1.0, 0.5],   # plumber
    [0.5, 4.0, 1.0, 0.5, 1.0, 1.0, 0.5, 3.0],   # electrician
    [1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 2.0, 2.0],   # facility_manager
    [1.0, 1.0, 1.5, 1.0, 1.5, 1.0, 1.0, 1.5],   # retailer
])
PRICE_SCALE = {"plumbing": 30, "electrical": 25, "tools": 60, "heating": 120, "fasteners": 6,
               "safety": 20, "ventilation": 80, "lighting": 35}
PACK_SIZE = {"fasteners": 6.0, "electrical": 2.0, "plumbing": 2.0}  # mean extra units per line
REPEAT_PROBABILITY = 0.5
END = dt.date(2026, 10, 31)

_meta = sa.MetaData()
customers = sa.Table(
    "customers", _meta,
    sa.Column("customer_id", sa.Text, primary_key=True), sa.Column("customer_name", sa.Text),
    sa.Column("email", sa.Text), sa.Column("phone", sa.Text), sa.Column("segment", sa.Text),
    sa.Column("region", sa.Text), sa.Column("created_at", sa.Date),
)
products = sa.Table(
    "products", _meta,
    sa.Column("product_id", sa.Text, primary_key=True), sa.Column("product_name", sa.Text),
    sa.Column("category", sa.Text), sa.Column("brand", sa.Text), sa.Column("list_price", sa.Float),
)
orders = sa.Table(
    "orders", _meta,
    sa.Column("order_id", sa.Integer, primary_key=True), sa.Column("customer_id", sa.Text),
    sa.Column("order_date", sa.Date), sa.Column("channel", sa.Text),
)
order_lines = sa.Table(
    "order_lines", _meta,
    sa.Column("order_line_id", sa.Integer, primary_key=True),
    sa.Column("order_id", sa.Integer), sa.Column("customer_id", sa.Text),
    sa.Column("product_id", sa.Text), sa.Column("order_date", sa.Date),
    sa.Column("quantity", sa.Integer), sa.Column("unit_price", sa.Float),
    sa.Column("discount", sa.Float),
)
erp_meta = sa.Table(
    "erp_meta", _meta,
    sa.Column("key", sa.Text, primary_key=True), sa.Column("value", sa.Text),
)


def _engine(url: str) -> sa.Engine:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        url = prefix + str(Path(__file__).resolve().parent / url[len(prefix):])
    return sa.create_engine(url)


def _chunks(rows: list[dict], size: int = 5000) -> Iterator[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    for chunk in _chunks(rows):
        conn.execute(table.insert(), chunk)


def _month_start(index: int, first: dt.date) -> dt.date:
    year, month = divmod(first.month - 1 + index, 12)
    return dt.date(first.year + year, month + 1, 1)


def _new_customers(rng: np.random.Generator, start_number: int, count: int,
                   before: dt.date, span_days: int) -> list[dict]:
    rows = []
    for i in range(count):
        number = start_number + i
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append({
            "customer_id": f"C{number:05d}",
            "customer_name": f"{first} {last}",
            "email": f"{first}.{last}.{number}@example-mail.com".lower(),
            "phone": f"+45 {rng.integers(20, 99)} {rng.integers(10, 99)} {rng.integers(10, 99)} "
                     f"{number % 100:02d}",
            "segment": SEGMENTS[int(rng.choice(len(SEGMENTS), p=[.25, .2, .15, .15, .1, .15]))],
            "region": REGIONS[int(rng.integers(len(REGIONS)))],
            "created_at": before - dt.timedelta(days=int(rng.integers(1, span_days + 1))),
        })
    return rows


def _products(rng: np.random.Generator, count: int) -> list[dict]:
    rows = []
    for i in range(count):
        category = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
        price = float(np.round(rng.lognormal(np.log(PRICE_SCALE[category]), 0.5), 2))
        rows.append({
            "product_id": f"P{i + 1:05d}",
            "product_name": f"{rng.choice(BRANDS)} {category} item {i + 1}",
            "category": category,
            "brand": str(rng.choice(BRANDS)),
            "list_price": price,
        })
    return rows


class _World:
    """Everything a month's orders depend on, rebuilt from the database."""

    def __init__(self, conn: sa.Connection, seed: int) -> None:
        self.seed = seed
        self.customers = [dict(r._mapping) for r in conn.execute(
            sa.select(customers).order_by(customers.c.customer_id))]
        self.products = [dict(r._mapping) for r in conn.execute(
            sa.select(products).order_by(products.c.product_id))]
        self.history: dict[str, list[int]] = {}
        index = {p["product_id"]: i for i, p in enumerate(self.products)}
        for customer_id, product_id in conn.execute(
                sa.select(order_lines.c.customer_id, order_lines.c.product_id)
                .order_by(order_lines.c.order_line_id)):
            self.history.setdefault(customer_id, []).append(index[product_id])
        rng = np.random.default_rng(seed)
        ranks = rng.permutation(len(self.products)) + 1
        self.popularity = ranks ** -1.1
        self.category = np.array([CATEGORIES.index(p["category"]) for p in self.products])
        self.activity = np.random.default_rng(seed + 1).lognormal(0.0, 1.0, 100_000)

    def product_weights(self, segment: int, month: int, drift: bool) -> np.ndarray:
        season = np.ones(len(CATEGORIES))
        winter = month in (11, 12, 1, 2)
        season[CATEGORIES.index("heating")] = 1.5 if winter else 0.8
        season[CATEGORIES.index("ventilation")] = 0.8 if winter else 1.2
        if drift:
            season[CATEGORIES.index("tools")] *= 8.0
        weights = self.popularity * AFFINITY[segment][self.category] * season[self.category]
        return weights / weights.sum()


def _month(conn: sa.Connection, world: _World, start: dt.date, index: int, *,
           drift: bool) -> dict[str, int]:
    """Generate and insert the orders of the month starting at ``start``."""
    rng = np.random.default_rng([world.seed, index, int(drift)])
    next_month = _month_start(1, start)
    days = (next_month - start).days
    n_customers = len(world.customers)
    activity = world.activity[:n_customers] / world.activity[:n_customers].sum()
    seasonal = 1.0 + 0.15 * np.cos((start.month - 1) / 12 * 2 * np.pi)
    n_orders = int(rng.poisson(0.9 * n_customers * seasonal))
    order_id = (conn.execute(sa.select(sa.func.max(orders.c.order_id))).scalar() or 0) + 1
    line_id = (conn.execute(sa.select(sa.func.max(order_lines.c.order_line_id))).scalar() or 0) + 1
    weights_by_segment = {s: world.product_weights(s, start.month, drift)
                          for s in range(len(SEGMENTS))}
    order_rows, line_rows = [], []
    buyers = rng.choice(n_customers, size=n_orders, p=activity)
    for buyer in buyers:
        customer = world.customers[int(buyer)]
        segment = SEGMENTS.index(customer["segment"])
        day = start + dt.timedelta(days=int(rng.integers(days)))
        channel = CHANNELS[int(rng.choice(3, p=[0.5, 0.3, 0.2]))]
        order_rows.append({"order_id": order_id, "customer_id": customer["customer_id"],
                           "order_date": day, "channel": channel})
        past = world.history.setdefault(customer["customer_id"], [])
        tier = 0.05 + 0.1 * (segment == 1)  # contractors negotiate better prices
        for _ in range(1 + int(rng.poisson(2.0))):
            if past and rng.random() < REPEAT_PROBABILITY:
                product = past[int(rng.integers(len(past)))]
            else:
                product = int(rng.choice(len(world.products), p=weights_by_segment[segment]))
            past.append(product)
            item = world.products[product]
            quantity = 1 + int(rng.poisson(PACK_SIZE.get(item["category"], 1.0)))
            discount = float(rng.beta(2.0, 20.0)) + tier
            if drift:
                quantity = quantity * 4 + int(rng.poisson(6))
                discount = float(rng.beta(8.0, 10.0))
            discount = round(min(discount, 0.9), 3)
            line_rows.append({
                "order_line_id": line_id, "order_id": order_id,
                "customer_id": customer["customer_id"], "product_id": item["product_id"],
                "order_date": day, "quantity": quantity,
                "unit_price": round(item["list_price"] * (1 - discount), 2), "discount": discount,
            })
            line_id += 1
        order_id += 1
    _insert(conn, orders, order_rows)
    _insert(conn, order_lines, line_rows)
    return {"orders": len(order_rows), "order_lines": len(line_rows)}


def _set_meta(conn: sa.Connection, **values: object) -> None:
    for key, value in values.items():
        conn.execute(erp_meta.delete().where(erp_meta.c.key == key))
        conn.execute(erp_meta.insert().values(key=key, value=str(value)))


def _get_meta(conn: sa.Connection) -> dict[str, str]:
    return {k: v for k, v in conn.execute(sa.select(erp_meta.c.key, erp_meta.c.value))}


def generate(url: str = "sqlite:///erp.db", *, customers_n: int = 1000, products_n: int = 300,
             months: int = 12, seed: int = 7) -> dict[str, int]:
    """Create the ERP tables and fill ``months`` months of history ending 2026-10-31."""
    engine = _engine(url)
    _meta.drop_all(engine)
    _meta.create_all(engine)
    first = _month_start(-months + 1, dt.date(END.year, END.month, 1))
    rng = np.random.default_rng(seed)
    counts = {"customers": customers_n, "products": products_n, "orders": 0, "order_lines": 0}
    with engine.begin() as conn:
        _insert(conn, customers, _new_customers(rng, 1, customers_n, first, 3 * 365))
        _insert(conn, products, _products(rng, products_n))
        _set_meta(conn, seed=seed, first_month=first.isoformat(), months=months)
        world = _World(conn, seed)
        for index in range(months):
            done = _month(conn, world, _month_start(index, first), index, drift=False)
            counts["orders"] += done["orders"]
            counts["order_lines"] += done["order_lines"]
    engine.dispose()
    return counts


def next_month(url: str = "sqlite:///erp.db", *, drift: bool = False) -> dict[str, object]:
    """Append the calendar month after the last one in the database (and a few customers)."""
    engine = _engine(url)
    with engine.begin() as conn:
        meta = _get_meta(conn)
        if not meta:
            raise SystemExit(f"{url}: no ERP data yet; run 'python erp.py init' first")
        seed, months = int(meta["seed"]), int(meta["months"])
        first = dt.date.fromisoformat(meta["first_month"])
        start = _month_start(months, first)
        rng = np.random.default_rng([seed, months, 99])
        existing = conn.execute(sa.select(sa.func.count()).select_from(customers)).scalar() or 0
        fresh = _new_customers(rng, existing + 1, max(1, int(existing * 0.015)), start, 28)
        _insert(conn, customers, fresh)
        world = _World(conn, seed)
        done = _month(conn, world, start, months, drift=drift)
        _set_meta(conn, months=months + 1)
    engine.dispose()
    return {"month": f"{start:%Y-%m}", "new_customers": len(fresh), **done}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="create the ERP database with months of history")
    init.add_argument("--customers", type=int, default=1000)
    init.add_argument("--products", type=int, default=300)
    init.add_argument("--months", type=int, default=12)
    init.add_argument("--seed", type=int, default=7)
    nxt = commands.add_parser("next-month", help="append the next month of orders")
    nxt.add_argument("--drift", action="store_true", help="a month whose distribution shifted")
    for sub in (init, nxt):
        sub.add_argument("--url", default="sqlite:///erp.db", help="SQLAlchemy URL of the ERP")
    args = parser.parse_args(argv)
    where = args.url.split("@")[-1]
    if args.command == "init":
        counts = generate(args.url, customers_n=args.customers, products_n=args.products,
                          months=args.months, seed=args.seed)
        print(f"{where}: {counts['customers']:,} customers, {counts['products']:,} products, "
              f"{counts['orders']:,} orders, {counts['order_lines']:,} order lines "
              f"over {args.months} months")
    else:
        done = next_month(args.url, drift=args.drift)
        kind = " (drifted)" if args.drift else ""
        print(f"{where}: +{done['order_lines']:,} order lines in {done['month']}{kind} "
              f"(orders {done['orders']:,}, new customers {done['new_customers']})")


if __name__ == "__main__":
    main()
