"""``shipyard init`` on one's own data: a project that works as written, and errors that name
the column or setting to fix."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
from deltalake import DeltaTable

from tests.e2e.cli import run


def views_csv(path: Path) -> None:
    """Readers and the articles they read: five groups of readers, each with its favourites."""
    rng = np.random.default_rng(3)
    n = 4000
    readers = rng.integers(0, 200, n)
    articles = (readers % 5) * 20 + rng.zipf(1.6, n) % 20
    pd.DataFrame({"reader": [f"r{x:03d}" for x in readers],
                  "article": [f"a{x:03d}" for x in articles],
                  "read_on": pd.Timestamp("2025-01-01")
                  + pd.to_timedelta(rng.integers(0, 180, n), "D")}).to_csv(path, index=False)


def text(done: object) -> str:
    return " ".join(f"{getattr(done, 'stdout', '')} {getattr(done, 'stderr', '')}".split())


def test_a_recommender_from_a_csv_trains_publishes_and_is_monitored_as_written(
        tmp_path: Path) -> None:
    views_csv(tmp_path / "views.csv")
    run("init", "reading", "--source", "views.csv", "--model", "recommender", "--user",
        "reader", "--item", "article", "--time", "read_on", cwd=tmp_path)
    project = tmp_path / "reading"
    assert 'url: "../views.csv"' in (project / "shipyard.yaml").read_text()
    run("ingest", cwd=project)
    run("run", "train", cwd=project)
    run("models", "promote", "views", "1", "--reason", "first", cwd=project)
    published = text(run("recommend", "--top", "5", cwd=project))  # no --model: views
    assert "200 customers × top 5 from views v1" in published
    assert "no drift in model views" in text(run("monitor", "drift", "views", cwd=project))
    # A misnamed interaction column names the setting that holds it.
    config = project / "shipyard.yaml"
    config.write_text(config.read_text().replace("product: article", "product: item_id"))
    failed = text(run("monitor", "drift", "views", cwd=project, check=1))
    assert "monitoring.interactions.product is 'item_id'" in failed


def test_a_csv_appended_to_lands_only_its_new_rows_when_incremental(tmp_path: Path) -> None:
    views_csv(tmp_path / "views.csv")
    run("init", "reading", "--source", "views.csv", "--model", "recommender", "--user",
        "reader", "--item", "article", "--time", "read_on", cwd=tmp_path)
    config = tmp_path / "reading" / "shipyard.yaml"
    config.write_text(config.read_text().replace(
        "    mode: snapshot", "    mode: incremental\n    watermark: read_on"))
    run("ingest", cwd=config.parent)
    rows = pd.read_csv(tmp_path / "views.csv")
    later = rows.sample(300, random_state=1).assign(read_on="2025-07-15")
    later.to_csv(tmp_path / "views.csv", mode="a", header=False, index=False)
    run("ingest", cwd=config.parent)
    raw = DeltaTable(str(config.parent / "lake" / "raw" / "views")).to_pyarrow_table()
    assert raw.num_rows == 4300
    assert raw.group_by("_batch_id").aggregate([]).num_rows == 2  # the second batch: 300 rows


def test_init_checks_the_columns_and_the_kind_before_writing(tmp_path: Path) -> None:
    views_csv(tmp_path / "views.csv")
    wrong = run("init", "p1", "--source", "views.csv", "--model", "classifier", "--target",
                "clicked", cwd=tmp_path, check=2)
    assert "--target clicked: not a column of views, which has: reader, article, read_on" in \
        text(wrong)
    assert not (tmp_path / "p1").exists()
    regressor = run("init", "p2", "--source", "views.csv", "--model", "regressor",
                    cwd=tmp_path, check=2)
    assert "a regressor is not supported yet" in text(regressor)
    missing = run("init", "p3", "--source", "views.csv", "--model", "recommender", "--user",
                  "reader", cwd=tmp_path, check=2)
    assert "a recommender needs --item COLUMN" in text(missing)


def test_a_database_source_names_its_tables(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "crm.db") as con:
        con.execute("CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, tier TEXT, "
                    "seats INTEGER, churned INTEGER)")
        rng = np.random.default_rng(5)
        con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?)", [
            (i, str(rng.choice(["a", "b"])), int(rng.integers(1, 50)), int(rng.random() < 0.3))
            for i in range(400)])
    con.close()
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    unknown = run("init", "crm", "--source", url, "--table", "acounts", "--model",
                  "classifier", "--target", "churned", cwd=tmp_path, check=2)
    assert "--table acounts: the source has no such table; it has accounts" in text(unknown)
    run("init", "crm", "--source", url, "--table", "accounts", "--model", "classifier",
        "--target", "churned", "--key", "account_id", cwd=tmp_path)
    run("ingest", cwd=tmp_path / "crm")
    clean = DeltaTable(str(tmp_path / "crm" / "lake" / "clean" / "accounts"))
    assert clean.to_pyarrow_table().num_rows == 400
    assert "train" in (tmp_path / "crm" / "shipyard.yaml").read_text()
