"""``shipyard init`` on one's own data: a project that works as written, and errors that name
the column or setting to fix."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
from deltalake import DeltaTable
from sklearn.base import is_regressor

from shipyard.project import Project
from shipyard.registry import Registry
from tests.e2e.cli import run
from tests.e2e.server import AUTH, http, serving


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


def houses_csv(path: Path, rows: int = 1500, seed: int = 11) -> pd.DataFrame:
    """Houses and their sale prices: area, rooms, age and district drive the price, with
    noise; written to ``path`` and returned."""
    rng = np.random.default_rng(seed)
    district = rng.choice(["centre", "harbour", "hills", "suburb"], rows, p=[.2, .2, .2, .4])
    area = rng.gamma(9.0, 11.0, rows).round(1)
    houses = pd.DataFrame({
        "house_id": np.arange(1, rows + 1), "district": district, "area_m2": area,
        "rooms": np.clip((area / 28 + rng.normal(0, 0.8, rows)).round(), 1, None).astype(int),
        "age_years": rng.integers(0, 90, rows),
        "sold_on": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, rows),
                                                                  "D")})
    premium = pd.Series(district).map({"centre": 90_000, "harbour": 60_000, "hills": 30_000,
                                       "suburb": 0}).to_numpy()
    houses["price"] = (2_400 * area + 9_000 * houses["rooms"] - 700 * houses["age_years"]
                       + premium + rng.normal(0, 25_000, rows)).round(-2)
    houses.to_csv(path, index=False)
    return houses


def test_a_regressor_from_a_csv_trains_serves_numbers_and_is_monitored_as_written(
        tmp_path: Path) -> None:
    houses_csv(tmp_path / "houses.csv")
    run("init", "sales", "--source", "houses.csv", "--model", "regressor", "--target", "price",
        "--key", "house_id", cwd=tmp_path)
    project = tmp_path / "sales"
    run("ingest", cwd=project)
    trained = text(run("run", "train", cwd=project))
    # gated against predicting the training mean on the same test rows
    assert re.search(r"rmse [0-9.]+ meets < 1.0 × mean \(mean [0-9.]+, bound [0-9.]+\)",
                     trained), trained
    run("models", "promote", "houses", "1", "--reason", "first", cwd=project)
    fresh = houses_csv(tmp_path / "later.csv", rows=400, seed=12)
    features = fresh.drop(columns=["house_id", "price", "sold_on"])
    rows = features.to_dict(orient="records")
    with serving(project) as base:
        answered = []
        for start in range(0, len(rows), 100):
            answer = http.post(f"{base}/v1/models/houses/predict", headers=AUTH,
                               json={"rows": rows[start:start + 100]})
            assert answer.status_code == 200, answer.text
            answered += answer.json()["predictions"]
    served = np.array([a["prediction"] for a in answered])
    assert all(set(a) == {"prediction"} for a in answered)  # a number, no probability
    model = Registry.of(Project.open(project)).fetch("houses", 1).model
    assert is_regressor(model)
    ours = model.predict(features)
    np.testing.assert_allclose(served, ours, rtol=1e-5, atol=1.0)  # ONNX's float32 or sklearn
    assert np.corrcoef(served, fresh["price"])[0, 1] > 0.9  # it learnt the prices
    assert "no drift in model houses" in text(run("monitor", "drift", "houses", cwd=project))
    # outcomes are a recommender's published sets; a regressor is pointed to drift
    assert ("a regressor's inputs and predictions are watched by 'shipyard monitor drift "
            "houses'") in text(run("monitor", "outcomes", "houses", cwd=project, check=1))


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
    assert "a regressor needs --target COLUMN" in text(regressor)
    forecaster = run("init", "p2", "--source", "views.csv", "--model", "forecaster",
                     "--target", "reader", cwd=tmp_path, check=2)
    assert ("--model forecaster: Shipyard trains a classifier, a regressor or a recommender"
            in text(forecaster))
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
