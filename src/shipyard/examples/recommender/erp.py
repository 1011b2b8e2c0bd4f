"""ERP simulator of a B2B distributor: customers, products, orders and order lines.

    python erp.py init [--customers N] [--products N] [--months N] [--seed S] [--url URL]
    python erp.py next-month [--drift] [--url URL]

``init`` (re)creates the ERP tables with ``--months`` months of history ending 2026-10-31;
``next-month`` appends the calendar month after the last order in the database, plus a few new
customers, so that the nightly cycle (new data → validation → retraining) can be watched.

The data is shaped like a real distributor's, because a recommender and a data validator are
only tested by data that behaves like the real thing:

* product popularity follows a power law (a few best-sellers, a long tail);
* segments prefer categories (electricians buy electrical, plumbers plumbing);
* customers re-buy what they bought before, with high probability;
* customer activity is heavy-tailed (a few customers place most orders);
* seasons move the mix (heating in winter, ventilation in summer) and the volume.

Everything is deterministic: the same flags give byte-identical tables, and each appended month
is seeded from the stored seed and the month, so a re-run gives the same rows. ``--drift``
writes a month whose order lines have clearly shifted (quantities several times larger,
discounts around 45 %, a tools-heavy mix, few repeat purchases): Shipyard's validation must
reject it, while a normal month must pass; and the recommendations published before it score
lower on it (``shipyard monitor outcomes``).

The default database is ``erp.db`` (SQLite) in this script's folder; ``--url`` takes any
SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host:5432/erp``. This file is standalone (numpy
and SQLAlchemy only) so that it can live in, and be edited in, the user's project.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import sqlalchemy as sa

__all__ = ["DEFAULT_URL", "ErpError", "generate", "main", "next_month"]

DEFAULT_URL = "sqlite:///erp.db"
END = dt.date(2026, 10, 31)
"""Last day of the generated history; ``init`` ends here, ``next-month`` continues after it."""

SEGMENTS = ["installer", "contractor", "plumber", "electrician", "facility_manager", "retailer"]
SEGMENT_SHARE = [0.25, 0.20, 0.15, 0.15, 0.10, 0.15]
REGIONS = ["north", "south", "east", "west", "central"]
REGION_SHARE = [0.22, 0.24, 0.18, 0.16, 0.20]
CATEGORIES = ["plumbing", "electrical", "tools", "heating", "fasteners", "safety",
              "ventilation", "lighting"]
CHANNELS = ["web", "phone", "branch"]
CHANNEL_SHARE = [0.55, 0.30, 0.15]
BRANDS = ["Acme", "Borel", "Castor", "Delta", "Eiger", "Fenix", "Gravo", "Hexa", "Ivar", "Juno"]
ITEMS = {
    "plumbing": ["ball valve", "PEX pipe 16mm", "press fitting", "siphon", "mixer tap"],
    "electrical": ["cable 3x1.5", "circuit breaker", "socket", "junction box", "RCD switch"],
    "tools": ["cordless drill", "impact driver", "pipe wrench", "spirit level", "hole saw"],
    "heating": ["panel radiator", "thermostat", "circulation pump", "manifold", "boiler valve"],
    "fasteners": ["wood screws 4x40", "wall plugs 8mm", "anchor bolts M8", "hex nuts M10",
                  "washers M6"],
    "safety": ["work gloves", "safety helmet", "goggles", "ear defenders", "hi-vis vest"],
    "ventilation": ["duct 125mm", "extractor fan", "air grille", "damper", "MVHR unit"],
    "lighting": ["LED panel", "downlight", "LED tube", "floodlight", "emergency light"],
}
FIRST_NAMES = ["Ana", "Ben", "Carla", "David", "Eva", "Filip", "Greta", "Hugo", "Ines", "Jonas",
               "Klara", "Lars", "Mila", "Nils", "Olga", "Pavel", "Rita", "Sven", "Tina", "Ugo",
               "Vera", "Wim", "Yara", "Zoltan"]
LAST_NAMES = ["Berg", "Costa", "Dahl", "Engel", "Fischer", "Garcia", "Holm", "Ivanov", "Jensen",
              "Keller", "Lopez", "Moreau", "Novak", "Olsen", "Petit", "Rossi", "Schmidt", "Weber",
              "Nowak", "Silva"]
MAIL_DOMAINS = ["example.com", "example.net", "example.org"]

# How much each segment prefers each category (rows: SEGMENTS, columns: CATEGORIES).
AFFINITY = np.array([
    [2.0, 1.5, 1.0, 3.0, 1.0, 0.8, 2.0, 1.0],   # installer
    [1.0, 1.0, 3.0, 1.0, 3.0, 2.0, 1.0, 1.0],   # contractor
    [4.0, 0.4, 1.0, 2.5, 1.0, 0.5, 0.8, 0.3],   # plumber
    [0.4, 4.0, 1.0, 0.4, 1.0, 0.8, 0.5, 3.0],   # electrician
    [1.0, 1.0, 0.8, 1.0, 1.0, 3.0, 2.0, 2.0],   # facility_manager
    [1.0, 1.0, 1.5, 1.0, 1.5, 1.0, 1.0, 1.5],   # retailer
])
PRICE_SCALE = np.array([30.0, 25.0, 90.0, 140.0, 8.0, 18.0, 70.0, 35.0])  # median list price
PACK = np.array([1.5, 3.0, 0.2, 0.4, 8.0, 2.0, 0.6, 2.5])  # mean extra units on a line
SEGMENT_VOLUME = np.array([1.0, 1.6, 1.0, 1.0, 0.8, 2.0])  # quantity multiplier
SEGMENT_DISCOUNT = np.array([0.06, 0.11, 0.05, 0.05, 0.04, 0.12])  # negotiated tier
ORDERS_PER_CUSTOMER = 1.6  # a month, on average
EXTRA_LINES = 2.2  # mean order lines beyond the first
REPEAT = 0.5  # probability that a line re-buys a product the customer bought before
REPEAT_DRIFT = 0.1  # … in a drifted month: customers try the promoted tools instead
ZIPF = (1.0, 5.0)  # popularity of the product of rank r: (r + 5) ** -1.0, a Zipf-like tail
NEW_CUSTOMERS = 0.015  # monthly growth of the customer base

_meta = sa.MetaData()
_customers = sa.Table(
    "customers", _meta,
    sa.Column("customer_id", sa.Text, primary_key=True), sa.Column("customer_name", sa.Text),
    sa.Column("email", sa.Text), sa.Column("phone", sa.Text), sa.Column("segment", sa.Text),
    sa.Column("region", sa.Text), sa.Column("created_at", sa.Date),
)
_products = sa.Table(
    "products", _meta,
    sa.Column("product_id", sa.Text, primary_key=True), sa.Column("product_name", sa.Text),
    sa.Column("category", sa.Text), sa.Column("brand", sa.Text), sa.Column("list_price", sa.Float),
)
_orders = sa.Table(
    "orders", _meta,
    sa.Column("order_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Text), sa.Column("order_date", sa.Date),
    sa.Column("channel", sa.Text),
)
_order_lines = sa.Table(
    "order_lines", _meta,
    sa.Column("order_line_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("order_id", sa.Integer), sa.Column("customer_id", sa.Text),
    sa.Column("product_id", sa.Text), sa.Column("order_date", sa.Date),
    sa.Column("quantity", sa.Integer), sa.Column("unit_price", sa.Float),
    sa.Column("discount", sa.Float),
)
_erp_meta = sa.Table(
    "erp_meta", _meta,
    sa.Column("key", sa.Text, primary_key=True), sa.Column("value", sa.Text),
)


class ErpError(Exception):
    """A problem the user can fix (no database yet, bad flag); ``main`` prints it, exit 1."""


# -- helpers ------------------------------------------------------------------------------------
def _resolve(url: str) -> sa.URL:
    """Parse ``url``; a relative SQLite path is taken from this script's folder, not the cwd.

    The project folder holds both this script and ``erp.db``, and the ``shipyard.yaml`` next
    to them says ``sqlite:///erp.db``; resolving here keeps the two pointing at the same file
    whichever folder the script is run from.
    """
    parsed = sa.make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:" \
            and not database.startswith("file:") and not Path(database).is_absolute():
        parsed = parsed.set(database=str(Path(__file__).resolve().parent / database))
    return parsed


def _where(url: sa.URL) -> str:
    """Short name of the database for messages: the file name, or the URL without password."""
    if url.get_backend_name() == "sqlite" and url.database:
        return Path(url.database).name
    return url.render_as_string(hide_password=True)


def _add_months(day: dt.date, months: int) -> dt.date:
    """First day of the month ``months`` after the month of ``day``."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(year, month + 1, 1)


def _chunks(rows: list[dict], size: int = 10_000) -> Iterator[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert in bulk: one executemany per chunk keeps init to seconds on any database."""
    for chunk in _chunks(rows):
        conn.execute(table.insert(), chunk)


def _activity(seed: int, numbers: np.ndarray) -> np.ndarray:
    """Heavy-tailed ordering rate of customers by number (C00001 → 1).

    Drawn as one seeded stream indexed by the customer number, so a customer keeps the same
    rate whether the world is generated in one go or rebuilt from the database later.
    """
    if len(numbers) == 0:
        return np.zeros(0)
    stream = np.random.default_rng([seed, 101]).lognormal(0.0, 0.9, int(numbers.max()))
    return stream[numbers - 1]


def _season(month: int) -> np.ndarray:
    """Category weights of a calendar month: heating peaks in January, ventilation in July."""
    wave = np.cos(2 * np.pi * (month - 1) / 12)
    weights = np.ones(len(CATEGORIES))
    weights[CATEGORIES.index("heating")] = np.exp(0.35 * wave)
    weights[CATEGORIES.index("ventilation")] = np.exp(-0.3 * wave)
    return weights


def _volume(month: int) -> float:
    """Order volume of a calendar month relative to the mean: busy spring, quiet summer break."""
    return float(1.0 + 0.12 * np.cos(2 * np.pi * (month - 4) / 12) - 0.08 * (month in (7, 12)))


# -- rows of the reference tables -------------------------------------------------------------
def _new_customers(rng: np.random.Generator, first_number: int, count: int,
                   earliest: dt.date, latest: dt.date) -> list[dict]:
    """``count`` customers numbered from ``first_number``, created between the two dates."""
    span = (latest - earliest).days
    segments = rng.choice(len(SEGMENTS), size=count, p=SEGMENT_SHARE)
    regions = rng.choice(len(REGIONS), size=count, p=REGION_SHARE)
    firsts = rng.integers(len(FIRST_NAMES), size=count)
    lasts = rng.integers(len(LAST_NAMES), size=count)
    domains = rng.integers(len(MAIL_DOMAINS), size=count)
    phones = rng.integers(10_000_000, 99_999_999, size=count)
    offsets = rng.integers(0, span + 1, size=count)
    rows = []
    for i in range(count):
        number = first_number + i
        first, last = FIRST_NAMES[firsts[i]], LAST_NAMES[lasts[i]]
        rows.append({
            "customer_id": f"C{number:05d}",
            "customer_name": f"{first} {last}",
            "email": f"{first}.{last}{number}@{MAIL_DOMAINS[domains[i]]}".lower(),
            "phone": f"+45 {phones[i] // 1_000_000:02d} {phones[i] // 10_000 % 100:02d} "
                     f"{phones[i] // 100 % 100:02d} {phones[i] % 100:02d}",
            "segment": SEGMENTS[segments[i]],
            "region": REGIONS[regions[i]],
            "created_at": earliest + dt.timedelta(days=int(offsets[i])),
        })
    return rows


def _new_products(rng: np.random.Generator, count: int) -> list[dict]:
    categories = rng.integers(len(CATEGORIES), size=count)
    brands = rng.integers(len(BRANDS), size=count)
    items = rng.integers(5, size=count)
    prices = np.round(rng.lognormal(np.log(PRICE_SCALE[categories]), 0.45), 2)
    rows = []
    for i in range(count):
        category = CATEGORIES[categories[i]]
        brand = BRANDS[brands[i]]
        rows.append({
            "product_id": f"P{i + 1:05d}",
            "product_name": f"{brand} {ITEMS[category][items[i]]} {brand[:2].upper()}-{i + 1}",
            "category": category,
            "brand": brand,
            "list_price": float(prices[i]),
        })
    return rows


# -- the world and its months -----------------------------------------------------------------
class _World:
    """What the next month's orders depend on: customers, products and purchase history.

    Built the same way from freshly generated rows (``init``) and from the database
    (``next-month``), so both paths draw a month from identical state.
    """

    def __init__(self, seed: int, customers: list[dict], products: list[dict],
                 history: Sequence[tuple[str, str]]) -> None:
        self.seed = seed
        self.customer_ids: list[str] = []
        self.segment = np.zeros(0, dtype=int)
        self.created = np.zeros(0, dtype="datetime64[D]")
        self.activity = np.zeros(0)
        self.history: list[list[int]] = []  # product indexes bought, per customer, in order
        self.add_customers(customers)
        self.product_ids = [p["product_id"] for p in products]
        self.category = np.array([CATEGORIES.index(p["category"]) for p in products], dtype=int)
        self.list_price = np.array([p["list_price"] for p in products], dtype=float)
        ranks = np.random.default_rng([seed, 102]).permutation(len(products)) + 1
        self.popularity = (ranks + ZIPF[1]) ** -ZIPF[0]
        customer_index = {c: i for i, c in enumerate(self.customer_ids)}
        product_index = {p: i for i, p in enumerate(self.product_ids)}
        for customer_id, product_id in history:
            self.history[customer_index[customer_id]].append(product_index[product_id])

    def add_customers(self, rows: list[dict]) -> None:
        """Append customers (in id order), with an empty purchase history."""
        self.customer_ids += [c["customer_id"] for c in rows]
        self.segment = np.concatenate(
            [self.segment, [SEGMENTS.index(c["segment"]) for c in rows]]).astype(int)
        self.created = np.concatenate(
            [self.created, np.array([c["created_at"] for c in rows], dtype="datetime64[D]")])
        numbers = np.array([int(c[1:]) for c in self.customer_ids], dtype=np.int64)
        self.activity = _activity(self.seed, numbers)
        self.history += [[] for _ in rows]

    def product_weights(self, month: int, drift: bool) -> np.ndarray:
        """Probability of each product for each segment (rows) in a calendar month."""
        season = _season(month)
        if drift:
            season[CATEGORIES.index("tools")] *= 6.0
        weights = (self.popularity[None, :] * AFFINITY[:, self.category]
                   * season[self.category][None, :])
        return weights / weights.sum(axis=1, keepdims=True)


def _month(world: _World, start: dt.date, first_order_id: int, first_line_id: int, *,
           drift: bool) -> tuple[list[dict], list[dict]]:
    """Orders and order lines of the calendar month that begins on ``start``.

    The generator is seeded by the world's seed and the month, so a month does not depend on
    how many months were generated before it in the same process.
    """
    rng = np.random.default_rng([world.seed, start.year, start.month, int(drift)])
    days = calendar.monthrange(start.year, start.month)[1]
    month_start = np.datetime64(start, "D")
    created_day = (world.created - month_start).astype(int)  # < 0: before this month
    active = created_day < days
    rate = world.activity * active
    n_orders = int(rng.poisson(ORDERS_PER_CUSTOMER * active.sum() * _volume(start.month)))
    buyers = rng.choice(len(rate), size=n_orders, p=rate / rate.sum())
    order_day = np.maximum(rng.integers(0, days, size=n_orders), created_day[buyers])
    channels = rng.choice(len(CHANNELS), size=n_orders, p=CHANNEL_SHARE)
    n_lines = 1 + rng.poisson(EXTRA_LINES, size=n_orders)
    by_day = np.argsort(order_day, kind="stable")  # order ids grow with the date, as in an ERP
    buyers, order_day, channels, n_lines = (buyers[by_day], order_day[by_day],
                                            channels[by_day], n_lines[by_day])

    line_order = np.repeat(np.arange(n_orders), n_lines)
    line_buyer = buyers[line_order]
    line_segment = world.segment[line_buyer]
    has_history = np.array([len(world.history[b]) > 0 for b in line_buyer], dtype=bool)
    repeat = (rng.random(len(line_order)) < (REPEAT_DRIFT if drift else REPEAT)) & has_history
    pick = rng.random(len(line_order))
    product = np.zeros(len(line_order), dtype=int)
    weights = world.product_weights(start.month, drift)
    for segment in range(len(SEGMENTS)):
        fresh = ~repeat & (line_segment == segment)
        product[fresh] = rng.choice(len(world.product_ids), size=int(fresh.sum()), p=weights[segment])
    for i in np.flatnonzero(repeat).tolist():
        past = world.history[line_buyer[i]]
        product[i] = past[int(pick[i] * len(past))]

    category = world.category[product]
    mean_extra = PACK[category] * SEGMENT_VOLUME[line_segment]
    quantity = 1 + rng.negative_binomial(1.5, 1.5 / (1.5 + mean_extra))
    discount: np.ndarray = SEGMENT_DISCOUNT[line_segment] + rng.beta(2.0, 30.0, size=len(line_order))
    if drift:  # a bulk-promotion month: big packs at deep discounts
        quantity = quantity * 5 + rng.poisson(6.0, size=len(line_order))
        discount = rng.beta(9.0, 11.0, size=len(line_order))
    discount = np.round(np.clip(discount, 0.0, 0.9), 3)
    unit_price = np.round(world.list_price[product] * (1.0 - discount), 2)

    dates = [start + dt.timedelta(days=int(d)) for d in range(days)]
    orders = [{"order_id": first_order_id + i, "customer_id": world.customer_ids[buyers[i]],
               "order_date": dates[order_day[i]], "channel": CHANNELS[channels[i]]}
              for i in range(n_orders)]
    lines = []
    for i in range(len(line_order)):
        o = line_order[i]
        lines.append({
            "order_line_id": first_line_id + i, "order_id": first_order_id + int(o),
            "customer_id": world.customer_ids[line_buyer[i]],
            "product_id": world.product_ids[product[i]], "order_date": dates[order_day[o]],
            "quantity": int(quantity[i]), "unit_price": float(unit_price[i]),
            "discount": float(discount[i]),
        })
        world.history[line_buyer[i]].append(int(product[i]))
    return orders, lines


def _set_meta(conn: sa.Connection, values: dict[str, object]) -> None:
    for key, value in values.items():
        conn.execute(_erp_meta.delete().where(_erp_meta.c.key == key))
        conn.execute(_erp_meta.insert().values(key=key, value=str(value)))


# -- the two commands -------------------------------------------------------------------------
def generate(url: str = DEFAULT_URL, *, customers: int = 1000, products: int = 300,
             months: int = 12, seed: int = 7) -> dict[str, int]:
    """(Re)create the ERP tables with ``months`` months of history ending 2026-10-31.

    Existing ERP tables at ``url`` are dropped first, so ``init`` always gives the same data.

    Returns:
        Row counts: ``customers``, ``products``, ``orders``, ``order_lines``.
    """
    if customers < 1 or products < 1 or months < 1:
        raise ErpError(f"--customers ({customers}), --products ({products}) and --months "
                       f"({months}) must each be at least 1")
    first = _add_months(END, 1 - months)
    rng = np.random.default_rng([seed, 100])
    customer_rows = _new_customers(rng, 1, customers, first - dt.timedelta(days=3 * 365),
                                   first - dt.timedelta(days=1))
    product_rows = _new_products(rng, products)
    world = _World(seed, customer_rows, product_rows, [])
    engine = sa.create_engine(_resolve(url))
    counts = {"customers": customers, "products": products, "orders": 0, "order_lines": 0}
    try:
        _meta.drop_all(engine)
        _meta.create_all(engine)
        with engine.begin() as conn:
            _insert(conn, _customers, customer_rows)
            _insert(conn, _products, product_rows)
            _set_meta(conn, {"seed": seed, "customers": customers, "products": products,
                             "months": months, "first_month": first.isoformat(),
                             "end": END.isoformat()})
            for index in range(months):
                orders, lines = _month(world, _add_months(first, index), counts["orders"] + 1,
                                       counts["order_lines"] + 1, drift=False)
                _insert(conn, _orders, orders)
                _insert(conn, _order_lines, lines)
                counts["orders"] += len(orders)
                counts["order_lines"] += len(lines)
    finally:
        engine.dispose()
    return counts


def next_month(url: str = DEFAULT_URL, *, drift: bool = False) -> dict[str, int]:
    """Append the calendar month after the last order in the ERP, and 1.5 % new customers.

    Args:
        url: SQLAlchemy URL of an ERP made by :func:`generate`.
        drift: Write a month whose order lines have shifted (validation must reject it).

    Returns:
        ``orders``, ``order_lines`` and ``new_customers`` added, and the ``year`` and
        ``month`` written.
    """
    resolved = _resolve(url)
    if resolved.get_backend_name() == "sqlite" and resolved.database \
            and not Path(resolved.database).exists():
        raise ErpError(f"{_where(resolved)} does not exist; run 'python erp.py init' first")
    engine = sa.create_engine(resolved)
    try:
        if not sa.inspect(engine).has_table("erp_meta"):
            raise ErpError(f"{_where(resolved)} has no ERP data; run 'python erp.py init' first")
        with engine.begin() as conn:
            meta = dict(conn.execute(sa.select(_erp_meta.c.key, _erp_meta.c.value)).all())
            seed = int(meta["seed"])
            last = conn.execute(sa.select(sa.func.max(_orders.c.order_date))).scalar()
            start = _add_months(last or END, 1)
            customer_rows = [dict(r._mapping) for r in conn.execute(
                sa.select(_customers).order_by(_customers.c.customer_id))]
            product_rows = [dict(r._mapping) for r in conn.execute(
                sa.select(_products).order_by(_products.c.product_id))]
            history = conn.execute(
                sa.select(_order_lines.c.customer_id, _order_lines.c.product_id)
                .order_by(_order_lines.c.order_line_id)).all()
            world = _World(seed, customer_rows, product_rows, history)

            rng = np.random.default_rng([seed, start.year, start.month, 200])
            count = max(1, round(len(customer_rows) * NEW_CUSTOMERS))
            number = max((int(c["customer_id"][1:]) for c in customer_rows), default=0) + 1
            end = _add_months(start, 1) - dt.timedelta(days=1)
            fresh = _new_customers(rng, number, count, start, end)
            world.add_customers(fresh)

            max_order = conn.execute(sa.select(sa.func.max(_orders.c.order_id))).scalar() or 0
            max_line = conn.execute(
                sa.select(sa.func.max(_order_lines.c.order_line_id))).scalar() or 0
            orders, lines = _month(world, start, max_order + 1, max_line + 1, drift=drift)
            _insert(conn, _customers, fresh)
            _insert(conn, _orders, orders)
            _insert(conn, _order_lines, lines)
            _set_meta(conn, {"last_month": f"{start:%Y-%m}"})
    finally:
        engine.dispose()
    return {"orders": len(orders), "order_lines": len(lines), "new_customers": len(fresh),
            "year": start.year, "month": start.month}


def main(argv: list[str] | None = None) -> int:
    """Command line: ``init`` or ``next-month``; prints one line saying what was written where."""
    parser = argparse.ArgumentParser(
        prog="erp.py", description="ERP simulator of a B2B distributor (example data).")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="(re)create the ERP with months of order history")
    init.add_argument("--customers", type=int, default=1000, help="customers (default 1000)")
    init.add_argument("--products", type=int, default=300, help="products (default 300)")
    init.add_argument("--months", type=int, default=12,
                      help=f"months of history ending {END} (default 12)")
    init.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    step = commands.add_parser("next-month", help="append the next calendar month of orders")
    step.add_argument("--drift", action="store_true",
                      help="make the month's order lines shift (validation must reject them)")
    for sub in (init, step):
        sub.add_argument("--url", default=DEFAULT_URL,
                         help="SQLAlchemy URL; a relative SQLite path is next to this script "
                              f"(default {DEFAULT_URL})")
    args = parser.parse_args(argv)
    try:
        where = _where(_resolve(args.url))
    except sa.exc.ArgumentError:
        print(f"erp.py: error: {args.url!r} is not a SQLAlchemy URL; expected e.g. "
              f"sqlite:///erp.db or postgresql+psycopg://user@host:5432/erp", file=sys.stderr)
        return 2
    try:
        if args.command == "init":
            counts = generate(args.url, customers=args.customers, products=args.products,
                              months=args.months, seed=args.seed)
            first = _add_months(END, 1 - args.months)
            print(f"{where}: {counts['order_lines']:,} order lines in {first:%Y-%m}..{END:%Y-%m} "
                  f"(orders {counts['orders']:,}, customers {counts['customers']:,}, "
                  f"products {counts['products']:,}, seed {args.seed})")
        else:
            done = next_month(args.url, drift=args.drift)
            kind = ", drifted" if args.drift else ""
            print(f"{where}: +{done['order_lines']:,} order lines in "
                  f"{done['year']}-{done['month']:02d}{kind} (orders {done['orders']:,}, "
                  f"new customers {done['new_customers']})")
    except ErpError as error:
        print(f"erp.py: error: {error}", file=sys.stderr)
        return 1
    except sa.exc.OperationalError as error:
        print(f"erp.py: error: cannot use {where}: {error.orig}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
