"""``shipyard serve``, ``recommend`` and ``loadtest`` driven as a user would, over real HTTP.

Reliability is checked the way an operator would see it: ten promotions during a load test
fail no request, overload only ever answers 503 (and the server is fine after), every route
but /health needs a key, schemathesis finds no 5xx, and a killed ``recommend`` never leaves a
half-written set visible.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from deltalake import DeltaTable

from shipyard.batch.results import ResultsStore
from shipyard.project import Project
from shipyard.serving.loadtest import run_load
from tests.e2e.cli import run
from tests.e2e.server import AUTH, KEY, serving

ROW = {"pclass": "1st", "sex": "female", "age": 29.0, "sibsp": 0, "parch": 0}


def small(root: Path, trials: int = 4) -> None:
    config = root / "shipyard.yaml"
    text = config.read_text()
    for before in ("trials: 20", "trials: 12"):
        text = text.replace(before, f"trials: {trials}")
    config.write_text(text)


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Titanic with two gate-passing versions, version 1 in production."""
    root = tmp_path_factory.mktemp("serving") / "titanic"
    run("example", "titanic", str(root), cwd=root.parent)
    small(root)
    run("ingest", cwd=root)
    run("run", "train", cwd=root)
    run("run", "train", "--no-cache", "--params", "seed=7", cwd=root)
    run("models", "promote", "titanic", "1", "--reason", "first", cwd=root)
    return root


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recommender example: trained, promoted, recommendations published."""
    root = tmp_path_factory.mktemp("serving") / "shop"
    run("example", "recommender", str(root), cwd=root.parent)
    small(root)
    run("ingest", cwd=root)
    run("run", "train", cwd=root)
    run("models", "promote", "recommender", "1", "--reason", "first", cwd=root)
    done = run("recommend", "--top", "10", cwd=root)
    assert "customers × top 10" in done.stdout
    return root


def test_predict_uses_production_and_names_a_bad_field(titanic: Path) -> None:
    with serving(titanic) as base:
        url = f"{base}/v1/models/titanic/predict"
        good = httpx.post(url, json={"rows": [ROW, {**ROW, "sex": "male", "age": None}]},
                          headers=AUTH)
        assert good.status_code == 200, good.text
        body = good.json()
        assert body["version"] == 1 and len(body["predictions"]) == 2
        assert 0 <= body["predictions"][0]["probability"] <= 1
        for row, field in (({k: v for k, v in ROW.items() if k != "sex"}, "sex"),
                           ({**ROW, "agee": 3}, "agee"), ({**ROW, "age": "old"}, "age")):
            bad = httpx.post(url, json={"rows": [row]}, headers=AUTH)
            assert bad.status_code == 422 and field in str(bad.json()["detail"][0]["loc"])
        assert httpx.post(url, json={"rows": []}, headers=AUTH).status_code == 422
        assert httpx.post(url, content=b"{not json", headers=AUTH).status_code == 422
        missing = httpx.post(f"{base}/v1/models/nope/predict", json={"rows": [ROW]},
                             headers=AUTH)
        assert missing.status_code == 404 and "titanic" in missing.json()["detail"]
        example = httpx.get(f"{base}/v1/models/titanic/example", headers=AUTH).json()
        assert httpx.post(url, json=example, headers=AUTH).status_code == 200
        ready = httpx.get(f"{base}/ready", headers=AUTH).json()
        assert ready == {"ready": True, "models": {"titanic": 1}}
        metrics = httpx.get(f"{base}/metrics", headers=AUTH).text
        assert 'shipyard_model_version{model="titanic"} 1.0' in metrics
        assert "shipyard_request_seconds_bucket" in metrics
    # the server flushed its prediction log on the way out: every scored row is in the lake
    logged = DeltaTable(str(titanic / "lake" / "monitoring" / "predictions")).to_pandas()
    assert len(logged) >= 3 and set(logged["model"]) == {"titanic"}
    assert set(logged["version"]) == {1} and logged["latency_ms"].gt(0).all()
    assert '"sex": "male"' in " ".join(logged["input"])


def test_every_route_but_health_needs_the_key(titanic: Path) -> None:
    with serving(titanic) as base:
        assert httpx.get(f"{base}/health").status_code == 200
        for method, path in (("GET", "/ready"), ("GET", "/metrics"),
                             ("POST", "/v1/models/titanic/predict"),
                             ("GET", "/v1/recommendations/C00001"),
                             ("POST", "/v1/pipelines/train/runs")):
            for headers in ({}, {"Authorization": "Bearer wrong-key-0000000000000000"}):
                answer = httpx.request(method, base + path, json={"rows": [ROW]},
                                       headers=headers)
                assert answer.status_code == 401, (path, headers, answer.text)
        assert httpx.get(f"{base}/ready", headers={"X-API-Key": KEY}).status_code == 200


def test_ten_promotions_during_load_fail_no_request(titanic: Path) -> None:
    with serving(titanic, "--poll", "0.3") as base:
        results = {}

        def load() -> None:
            results["report"] = run_load(f"{base}/v1/models/titanic/predict", concurrency=8,
                                         duration_s=30, payload={"rows": [ROW]},
                                         headers=AUTH, keep_bodies=True)

        loader = threading.Thread(target=load)
        loader.start()
        for i in range(10):
            run("models", "promote", "titanic", str(2 - i % 2), "--reason", f"swap {i}",
                cwd=titanic)
            time.sleep(0.7)
        loader.join()
        report = results["report"]
        assert report.requests > 100 and report.failures == 0, report.summary()
        versions = {body["version"] for body in report.bodies}
        assert versions == {1, 2}, versions
        assert httpx.get(f"{base}/ready", headers=AUTH).json()["models"] == {"titanic": 1}


def test_overload_is_refused_fast_and_the_server_survives(titanic: Path) -> None:
    with serving(titanic, "--max-concurrency", "1", "--max-queue", "1") as base:
        report = run_load(f"{base}/v1/models/titanic/predict", concurrency=32, requests=800,
                          payload={"rows": [ROW]}, headers=AUTH)
        assert set(report.statuses) <= {"200", "503"}, report.summary()
        assert report.statuses["503"] > 0 and report.statuses["200"] > 0
        assert httpx.get(f"{base}/health").status_code == 200
        after = httpx.post(f"{base}/v1/models/titanic/predict", json={"rows": [ROW]},
                           headers=AUTH)
        assert after.status_code == 200


def test_schemathesis_finds_no_server_error(titanic: Path) -> None:
    with serving(titanic) as base:
        done = subprocess.run(
            [str(Path(os.sys.executable).parent / "schemathesis"), "run",
             f"{base}/openapi.json", "--checks", "not_a_server_error", "-H",
             f"Authorization: Bearer {KEY}", "--max-examples", "25", "--exclude-path",
             "/v1/pipelines/{name}/runs"],
            capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_recommendations_come_from_the_results_db(shop: Path) -> None:
    project = Project.open(shop, "dev")
    store = ResultsStore(sa.create_engine(project.results_url))
    current = store.current("recommender")
    customer = store.snapshot("recommender")[0][0]
    with serving(shop) as base:
        found = httpx.get(f"{base}/v1/recommendations/{customer}?k=5", headers=AUTH)
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["source"] == "results" and body["version"] == current.version == 1
        assert len(body["items"]) == 5
        unknown = httpx.get(f"{base}/v1/recommendations/NOBODY", headers=AUTH).json()
        assert unknown["source"] == "popularity" and len(unknown["items"]) == 10


def test_a_killed_recommend_never_shows_a_half_written_set(shop: Path) -> None:
    project = Project.open(shop, "dev")
    store = ResultsStore(sa.create_engine(project.results_url))
    before = store.current("recommender")
    rows_before = sorted(store.snapshot("recommender"))
    seen: list[int] = []
    stop = threading.Event()

    def read() -> None:  # a reader polling all the while must only ever see whole sets
        while not stop.is_set():
            seen.append(len(store.snapshot("recommender")))

    reader = threading.Thread(target=read)
    reader.start()
    killed = run("recommend", "--top", "20", cwd=shop,
                 env={"SHIPYARD_KILL_AT": "recommend:chunk-written"}, check=None)
    assert killed.returncode == -signal.SIGKILL
    assert store.current("recommender") == before
    assert sorted(store.snapshot("recommender")) == rows_before
    run("recommend", "--top", "20", cwd=shop)
    stop.set()
    reader.join()
    after = store.current("recommender")
    assert after.id != before.id and after.k == 20
    assert len(store.snapshot("recommender")) == after.customers * 20
    assert set(seen) <= {len(rows_before), after.customers * 20}


def test_recommend_for_prod_writes_prod_results_never_devs(shop: Path, pg_url: str) -> None:
    # the example's prod environment keeps everything apart: lake, registry, metadata, results
    prod = {"SHIPYARD_PROD_DB": pg_url}
    dev = ResultsStore(sa.create_engine(Project.open(shop, "dev").results_url))
    before = dev.current("recommender")
    run("ingest", "--env", "prod", cwd=shop, env=prod)
    run("run", "train", "--env", "prod", cwd=shop, env=prod)
    run("models", "promote", "recommender", "1", "--reason", "prod", "--env", "prod", cwd=shop,
        env=prod)
    done = run("recommend", "--top", "5", "--env", "prod", cwd=shop, env=prod)
    assert "postgresql" in done.stdout
    prod_store = ResultsStore(sa.create_engine(pg_url))
    made = prod_store.current("recommender")
    assert made is not None and made.k == 5
    assert len(prod_store.snapshot("recommender")) == made.customers * 5
    assert dev.current("recommender") == before


def test_the_nightly_pipeline_publishes_every_time_it_runs(shop: Path) -> None:
    store = ResultsStore(sa.create_engine(Project.open(shop, "dev").results_url))
    ids = []
    for _ in range(2):
        done = run("run", "nightly", cwd=shop)
        assert "runs every time (cache=False)" in " ".join(done.stdout.split())
        ids.append(store.current("recommender").id)
    assert ids[0] != ids[1]


def test_predict_scores_a_file_and_works_as_a_step(titanic: Path, tmp_path: Path) -> None:
    import pandas as pd

    from shipyard.batch.predict import predict_step
    from shipyard.pipeline import RunContext

    rows = pd.DataFrame([ROW, {**ROW, "sex": "male", "pclass": "3rd"}])
    rows.to_csv(tmp_path / "rows.csv", index=False)
    done = run("predict", "titanic", "--input", str(tmp_path / "rows.csv"), "--output",
               str(tmp_path / "scored.parquet"), cwd=titanic)
    assert "2 rows scored by titanic v" in done.stdout
    scored = pd.read_parquet(tmp_path / "scored.parquet")
    assert list(scored["prediction"]) == [1, 0] and scored["probability"].between(0, 1).all()
    project = Project.open(titanic, "dev")
    ctx = RunContext(run_id="r", pipeline="p", step="s", project=project, env="dev", params={},
                     smoke=False, sample=None, tuning=None, mlflow_run_id=None,
                     data_versions={})
    stepped = predict_step(ctx, rows, "titanic")
    assert stepped["probability"].tolist() == pytest.approx(scored["probability"].tolist())
    assert stepped["model_version"].nunique() == 1
