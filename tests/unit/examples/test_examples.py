"""The example projects and the ERP simulator behind the recommender example.

The simulator must be deterministic (tests and demos depend on exact data), append whole
calendar months, keep a normal month statistically like the previous one, and make a drifted
month clearly different: the lake's validator is judged on exactly this data.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from scipy.stats import ks_2samp

import shipyard.examples
from shipyard.config import load_config
from shipyard.errors import ConfigError, NotFoundError
from shipyard.examples import create_example

TEMPLATES = Path(shipyard.examples.__file__).parent
TABLES = {"customers": "customer_id", "products": "product_id", "orders": "order_id",
          "order_lines": "order_line_id", "erp_meta": "key"}
NUMERIC = ("quantity", "unit_price", "discount")


def _import(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_test_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def erp() -> ModuleType:
    return _import(TEMPLATES / "recommender" / "erp.py")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def dump(url: str) -> dict[str, list[tuple]]:
    """Every ERP table's rows in primary-key order, as Python values (dates as dates)."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    try:
        with engine.connect() as conn:
            tables = {t: sa.Table(t, meta, autoload_with=conn) for t in TABLES}
            return {t: [tuple(r) for r in conn.execute(
                sa.select(table).order_by(table.c[TABLES[t]]))] for t, table in tables.items()}
    finally:
        engine.dispose()


def query(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def month_column(url: str, month: str, column: str) -> list[float]:
    return [r[0] for r in query(url, f"SELECT {column} FROM order_lines "
                                     f"WHERE substr(CAST(order_date AS TEXT), 1, 7) = '{month}'")]


# -- the simulator ----------------------------------------------------------------------------
def test_init_is_deterministic_and_the_seed_matters(erp: ModuleType, tmp_path: Path) -> None:
    urls = [sqlite_url(tmp_path / f"{name}.db") for name in ("a", "b", "c")]
    counts = erp.generate(urls[0], customers=200, months=3, seed=11)
    assert erp.generate(urls[1], customers=200, months=3, seed=11) == counts
    erp.generate(urls[2], customers=200, months=3, seed=12)
    assert dump(urls[0]) == dump(urls[1])
    assert dump(urls[0])["order_lines"] != dump(urls[2])["order_lines"]
    assert counts["customers"] == 200 and counts["products"] == 300
    assert counts["order_lines"] == len(dump(urls[0])["order_lines"]) > counts["orders"] > 0
    dates = query(urls[0], "SELECT min(order_date), max(order_date) FROM orders")[0]
    assert str(dates[0]).startswith("2026-08") and str(dates[1]).startswith("2026-10")


def test_init_replaces_an_existing_erp(erp: ModuleType, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "erp.db")
    erp.generate(url, customers=200, months=2, seed=1)
    erp.next_month(url)
    erp.generate(url, customers=200, months=2, seed=1)
    fresh = sqlite_url(tmp_path / "fresh.db")
    erp.generate(fresh, customers=200, months=2, seed=1)
    assert dump(url) == dump(fresh)


def test_next_month_appends_the_following_calendar_month(erp: ModuleType, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "erp.db")
    erp.generate(url, customers=200, months=3)
    (max_line, max_order, n_customers), = query(
        url, "SELECT (SELECT max(order_line_id) FROM order_lines), (SELECT max(order_id) FROM "
             "orders), (SELECT count(*) FROM customers)")

    done = erp.next_month(url)
    assert (done["year"], done["month"]) == (2026, 11)
    new_lines = query(url, f"SELECT order_line_id, order_date FROM order_lines "
                           f"WHERE order_line_id > {max_line} ORDER BY order_line_id")
    assert len(new_lines) == done["order_lines"] > 0
    assert [r[0] for r in new_lines] == list(range(max_line + 1, max_line + 1 + len(new_lines)))
    assert {str(r[1])[:7] for r in new_lines} == {"2026-11"}
    new_orders = query(url, f"SELECT min(order_id), count(*), min(order_date), max(order_date) "
                            f"FROM orders WHERE order_id > {max_order}")[0]
    assert new_orders[0] == max_order + 1 and new_orders[1] == done["orders"]
    assert str(new_orders[2]) == "2026-11-01" and str(new_orders[3]) == "2026-11-30"
    assert query(url, "SELECT count(*) FROM customers")[0][0] == n_customers + done["new_customers"]
    assert 1 <= done["new_customers"] <= 0.05 * n_customers
    # Every line belongs to an order of the same customer and date.
    assert query(url, "SELECT count(*) FROM order_lines l LEFT JOIN orders o USING (order_id) "
                      "WHERE o.customer_id IS NULL OR o.customer_id != l.customer_id "
                      "OR o.order_date != l.order_date") == [(0,)]

    later = [erp.next_month(url) for _ in range(2)]
    assert [(d["year"], d["month"]) for d in later] == [(2026, 12), (2027, 1)]


def test_next_month_is_deterministic(erp: ModuleType, tmp_path: Path) -> None:
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    erp.generate(sqlite_url(first), customers=200, months=2)
    shutil.copy(first, second)
    for path in (first, second):
        erp.next_month(sqlite_url(path))
        erp.next_month(sqlite_url(path), drift=True)
    assert dump(sqlite_url(first)) == dump(sqlite_url(second))


def test_customers_carry_personal_data(erp: ModuleType, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "erp.db")
    erp.generate(url, customers=200, months=1)
    rows = query(url, "SELECT customer_id, customer_name, email, phone, segment, region, "
                      "created_at FROM customers")
    assert len(rows) == 200
    email = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")
    for customer_id, name, mail, phone, segment, region, created in rows:
        assert re.fullmatch(r"C\d{5}", customer_id)
        assert len(name.split()) == 2 and email.match(mail), (name, mail)
        assert re.fullmatch(r"\+\d+( \d\d){4}", phone)
        assert segment in erp.SEGMENTS and region in erp.REGIONS and created
    assert len({r[2] for r in rows}) == 200  # e-mails identify people


def test_order_lines_look_like_a_distributors(erp: ModuleType, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "erp.db")
    erp.generate(url, customers=300, months=6)
    by_product = [n for (n,) in query(url, "SELECT count(*) FROM order_lines GROUP BY product_id "
                                           "ORDER BY 1 DESC")]
    total = sum(by_product)
    assert sum(by_product[:30]) > 0.3 * total  # top 10 % of products: a large share
    electricians = dict(query(url, "SELECT p.category, count(*) FROM order_lines l "
                                   "JOIN customers c USING (customer_id) JOIN products p "
                                   "USING (product_id) WHERE c.segment = 'electrician' GROUP BY 1"))
    plumbers = dict(query(url, "SELECT p.category, count(*) FROM order_lines l "
                               "JOIN customers c USING (customer_id) JOIN products p "
                               "USING (product_id) WHERE c.segment = 'plumber' GROUP BY 1"))
    assert electricians["electrical"] / sum(electricians.values()) > \
        2 * plumbers.get("electrical", 0) / sum(plumbers.values())
    pairs = query(url, "SELECT count(*), count(DISTINCT customer_id || product_id) FROM order_lines")
    assert pairs[0][1] < 0.6 * pairs[0][0]  # most lines re-buy a product bought before
    (bad,) = query(url, "SELECT count(*) FROM order_lines WHERE quantity < 1 OR discount < 0 "
                        "OR discount > 1 OR unit_price < 0")[0]
    assert bad == 0


@pytest.fixture(scope="module")
def months(erp: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Default-size ERP with history to 2026-10, then a normal and a drifted 2026-11."""
    folder = tmp_path_factory.mktemp("erp")
    erp.generate(sqlite_url(folder / "normal.db"), months=2)
    shutil.copy(folder / "normal.db", folder / "drift.db")
    erp.next_month(sqlite_url(folder / "normal.db"))
    erp.next_month(sqlite_url(folder / "drift.db"), drift=True)
    return {"normal": sqlite_url(folder / "normal.db"), "drift": sqlite_url(folder / "drift.db")}


@pytest.mark.parametrize("column", NUMERIC)
def test_a_normal_month_looks_like_the_previous_one(months: dict[str, str], column: str) -> None:
    previous = month_column(months["normal"], "2026-10", column)
    new = month_column(months["normal"], "2026-11", column)
    assert len(previous) > 3000 and len(new) > 3000
    assert ks_2samp(new, previous).statistic < 0.05


@pytest.mark.parametrize("column", ["quantity", "discount"])
def test_a_drifted_month_is_clearly_shifted(months: dict[str, str], column: str) -> None:
    previous = month_column(months["drift"], "2026-10", column)
    new = month_column(months["drift"], "2026-11", column)
    assert ks_2samp(new, previous).statistic >= 0.3


def test_drift_changes_only_the_new_month(months: dict[str, str]) -> None:
    history = "SELECT * FROM order_lines WHERE order_date < '2026-11-01' ORDER BY order_line_id"
    assert query(months["normal"], history) == query(months["drift"], history)


def test_cli_prints_what_it_did_and_where(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    shutil.copy(TEMPLATES / "recommender" / "erp.py", project)
    run = [sys.executable, str(project / "erp.py")]
    # From another folder: the relative default URL is next to the script, not in the cwd.
    done = subprocess.run([*run, "next-month"], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 1 and "run 'python erp.py init' first" in done.stderr
    done = subprocess.run([*run, "init", "--customers", "150", "--months", "1"], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    assert (project / "erp.db").exists() and not (tmp_path / "erp.db").exists()
    assert re.fullmatch(r"erp\.db: [\d,]+ order lines in 2026-10\.\.2026-10 \(orders [\d,]+, "
                        r"customers 150, products 300, seed 7\)\n", done.stdout), done.stdout
    done = subprocess.run([*run, "next-month", "--drift"], cwd=tmp_path, capture_output=True,
                          text=True, check=True)
    assert re.fullmatch(r"erp\.db: \+[\d,]+ order lines in 2026-11, drifted "
                        r"\(orders [\d,]+, new customers \d+\)\n", done.stdout), done.stdout


@pytest.mark.postgres
def test_postgresql_gets_the_same_erp_as_sqlite(erp: ModuleType, pg_url: str,
                                                 tmp_path: Path) -> None:
    lite = sqlite_url(tmp_path / "erp.db")
    for url in (pg_url, lite):
        erp.generate(url, customers=200, months=2)
        erp.next_month(url)
    assert dump(pg_url) == dump(lite)
    columns = query(pg_url, "SELECT table_name, column_name, data_type FROM "
                            "information_schema.columns WHERE table_name = 'order_lines'")
    types = {c: t for _, c, t in columns}
    assert types["order_date"] == "date" and types["quantity"] == "integer"


# -- create_example -----------------------------------------------------------------------------
def test_recommender_example_is_a_ready_project(tmp_path: Path) -> None:
    dest = create_example("recommender", tmp_path / "shop", customers=150, months=2)
    assert dest == tmp_path / "shop"
    files = {p.name for p in dest.iterdir()}
    assert {"shipyard.yaml", "erp.py", "README.md", ".gitignore", "erp.db"} <= files
    assert "__pycache__" not in files
    config = load_config(dest)
    assert config.project == "shop" and set(config.environments) == {"dev", "prod", "team"}
    assert config.pii_columns == {"customer_name": "customers", "email": "customers",
                                  "phone": "customers"}
    url = sqlite_url(dest / "erp.db")
    for name, table in config.tables.items():
        columns = {r[1] for r in query(url, f"PRAGMA table_info({table.table})")}
        declared = {*table.primary_key, *table.clean.types, *table.clean.pii,
                    *table.validation.expectations, *([table.watermark] if table.watermark else [])}
        assert declared <= columns, (name, declared - columns)
    assert query(url, "SELECT count(*) FROM customers") == [(150,)]


def test_titanic_example_has_the_real_passenger_list(tmp_path: Path) -> None:
    dest = tmp_path / "titanic"
    dest.mkdir()  # an existing empty folder is fine
    create_example("titanic", dest)
    assert load_config(dest).project == "titanic"
    url = sqlite_url(dest / "source.db")
    assert query(url, "SELECT count(*), count(DISTINCT passenger_id), count(age), "
                      "sum(survived = 'survived') FROM passengers") == [(1309, 1309, 1046, 500)]
    assert {r[0] for r in query(url, "SELECT DISTINCT pclass FROM passengers")} == {
        "1st", "2nd", "3rd"}
    assert {r[0] for r in query(url, "SELECT DISTINCT sex FROM passengers")} == {"female", "male"}


def test_unknown_example_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"'shop'.*recommender, titanic"):
        create_example("shop", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_a_non_empty_folder_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="pick an empty"):
        create_example("titanic", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("name", ["recommender", "titanic"])
def test_examples_send_no_alerts_until_the_commented_webhook_is_turned_on(
        name: str, tmp_path: Path) -> None:
    """A webhook to a closed port made every ingest print a delivery warning, in the middle
    of its progress line; the examples ship the webhook as a comment to turn on instead."""
    from tests.e2e.examples import add_webhook

    shutil.copy(TEMPLATES / name / "shipyard.yaml", tmp_path / "shipyard.yaml")
    assert load_config(tmp_path).alerts.webhooks == []
    add_webhook(tmp_path, "http://127.0.0.1:8123/hook")
    (webhook,) = load_config(tmp_path).alerts.webhooks
    assert (webhook.kind, webhook.url) == ("json", "http://127.0.0.1:8123/hook")
