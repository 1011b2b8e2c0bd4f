"""``shipyard serve``, ``recommend`` and ``loadtest`` driven as a user would, over real HTTP.

Reliability is checked the way an operator would see it: ten promotions during a load test
fail no request, overload only ever answers 503 (and the server is fine after), every route
but /health needs a key, schemathesis with every check finds nothing on either example server,
and a killed ``recommend`` never leaves a half-written set visible.

Hostile requests (lone surrogates, non-finite and huge numbers, wrong types, anything at all
in any field) are sent to the app in process, over ASGI, where the process itself is not
what is tested: it keeps the suite fast. Every wait polls for its condition with a bound of
minutes; nothing assumes a fast machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from deltalake import DeltaTable
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.batch.results import ResultsStore
from shipyard.monitoring import find_request
from shipyard.project import Project
from shipyard.serving import ApiKeys, create_app
from shipyard.serving.loadtest import run_load
from tests.e2e.cli import run
from tests.e2e.examples import ExampleProjects, small
from tests.e2e.server import AUTH, KEY, PATIENCE_S, http, serving, wait_for
from tests.e2e.swaps import promote_under_load

# Schemathesis cases per operation: 25 in `make test`, more in `make fuzz` (the probe of
# benchmarks/probe.py sends 200 by hand).
FUZZ_EXAMPLES = os.environ.get("SHIPYARD_FUZZ_EXAMPLES", "25")
ROW = {"pclass": "1st", "sex": "female", "age": 29.0, "sibsp": 0, "parch": 0}


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory, example_projects: ExampleProjects) -> Path:
    """Titanic with two gate-passing versions, version 1 in production."""
    root = tmp_path_factory.mktemp("serving") / "titanic"
    return example_projects.copy("titanic-two-versions", root)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, example_projects: ExampleProjects) -> Path:
    """The recommender example: trained, promoted, recommendations published."""
    root = tmp_path_factory.mktemp("serving") / "shop"
    example_projects.copy("recommender-ingested", root)
    small(root)
    run("run", "train", cwd=root)
    run("models", "promote", "recommender", "1", "--reason", "first", cwd=root)
    done = run("recommend", "--top", "10", cwd=root)
    assert "customers × top 10" in done.stdout
    return root


def test_predict_uses_production_and_names_a_bad_field(titanic: Path) -> None:
    with serving(titanic) as base:
        url = f"{base}/v1/models/titanic/predict"
        good = http.post(url, json={"rows": [ROW, {**ROW, "sex": "male", "age": None}]},
                          headers=AUTH)
        assert good.status_code == 200, good.text
        body = good.json()
        assert body["version"] == 1 and len(body["predictions"]) == 2
        assert 0 <= body["predictions"][0]["probability"] <= 1
        for row, field in (({k: v for k, v in ROW.items() if k != "sex"}, "sex"),
                           ({**ROW, "agee": 3}, "agee"), ({**ROW, "age": "old"}, "age")):
            bad = http.post(url, json={"rows": [row]}, headers=AUTH)
            assert bad.status_code == 422 and field in str(bad.json()["detail"][0]["loc"])
        assert http.post(url, json={"rows": []}, headers=AUTH).status_code == 422
        assert http.post(url, content=b"{not json", headers=AUTH).status_code == 422
        missing = http.post(f"{base}/v1/models/nope/predict", json={"rows": [ROW]},
                             headers=AUTH)
        assert missing.status_code == 404 and "titanic" in missing.json()["detail"]
        example = http.get(f"{base}/v1/models/titanic/example", headers=AUTH).json()
        assert http.post(url, json=example, headers=AUTH).status_code == 200
        ready = http.get(f"{base}/ready", headers=AUTH).json()
        assert ready == {"ready": True, "models": {"titanic": 1}}
        metrics = http.get(f"{base}/metrics", headers=AUTH).text
        assert 'shipyard_model_version{model="titanic"} 1.0' in metrics
        assert "shipyard_request_seconds_bucket" in metrics
    # the server flushed its prediction log on the way out: every scored row is in the lake
    # (the model's own table, its inputs as typed columns, each row under its request's id)
    logged = DeltaTable(str(titanic / "lake" / "monitoring" / "predictions" / "titanic")
                        ).to_pandas()
    assert len(logged) >= 3 and set(logged["version"]) == {1}
    assert logged["latency_ms"].gt(0).all() and logged["request_id"].notna().all()
    assert "male" in set(logged["sex"]) and str(logged["age"].dtype) == "float64"


def test_every_route_but_health_needs_the_key(titanic: Path) -> None:
    with in_process(titanic) as client:  # the app decides, not the process: tested in process
        client.headers.pop("Authorization")  # each request below says which key it carries
        assert client.get("/health").status_code == 200
        for method, path in (("GET", "/ready"), ("GET", "/metrics"), ("GET", "/docs"),
                             ("GET", "/openapi.json"), ("POST", "/v1/models/titanic/predict"),
                             ("GET", "/v1/recommendations/C00001"),
                             ("POST", "/v1/pipelines/train/runs")):
            for headers in ({}, {"Authorization": "Bearer wrong-key-0000000000000000"}):
                answer = client.request(method, path, json={"rows": [ROW]}, headers=headers)
                assert answer.status_code == 401, (path, headers, answer.text)
        assert client.get("/ready", headers={"X-API-Key": KEY}).status_code == 200
        # the documents: a browser is asked for the key (Basic, the key as the password)
        asked = client.get("/docs")
        assert asked.headers["www-authenticate"].startswith("Basic ")
        for path in ("/docs", "/openapi.json"):
            assert client.get(path, auth=("anyone", KEY)).status_code == 200
            assert client.get(path, headers={"X-API-Key": KEY}).status_code == 200
            assert client.get(path, auth=("anyone", "wrong-key-0000000000000000")).status_code == 401
        assert client.get("/ready", auth=("anyone", KEY)).status_code == 401  # documents only


def test_a_model_promoted_after_start_is_served_without_a_restart(
        tmp_path: Path, example_projects: ExampleProjects) -> None:
    root = example_projects.copy("titanic-staged", tmp_path / "titanic")  # no production yet
    path = "/v1/models/titanic/predict"

    def answer() -> httpx.Response:
        return http.post(f"{base}{path}", json={"rows": [ROW]}, headers=AUTH)

    def documented() -> bool:
        return path in http.get(f"{base}/openapi.json", headers=AUTH).json()["paths"]

    with serving(root, "--poll", "0.3", until="/health") as base:
        before = answer()
        assert before.status_code == 404 and "no production version yet" in before.text
        assert not documented()
        # Not ready: a rollout must not count a server with nothing to serve as up.
        waiting = http.get(f"{base}/ready", headers=AUTH)
        assert waiting.status_code == 503, waiting.text
        assert waiting.json()["missing"] == ["titanic"]
        assert "titanic has no production version yet" in waiting.json()["detail"]
        assert "shipyard run train" in waiting.json()["detail"]
        assert "shipyard models promote titanic VERSION" in waiting.json()["detail"]
        run("models", "promote", "titanic", "1", "--reason", "first", cwd=root)
        wait_for(lambda: answer().status_code == 200, "titanic v1 answering predict")
        assert answer().json()["version"] == 1 and documented()
        assert http.get(f"{base}/ready", headers=AUTH).json() == {
            "ready": True, "models": {"titanic": 1}}
        example = http.get(f"{base}/v1/models/titanic/example", headers=AUTH)
        assert http.post(f"{base}{path}", json=example.json(), headers=AUTH).status_code == 200


def test_ten_promotions_during_load_fail_no_request(titanic: Path) -> None:
    with serving(titanic, "--poll", "0.3") as base:
        report, seen = promote_under_load(titanic, base, [2 - i % 2 for i in range(10)], ROW)
        assert report.failures == 0, report.summary()
        assert seen == {1, 2}
        assert http.get(f"{base}/ready", headers=AUTH).json()["models"] == {"titanic": 1}


def test_the_version_gauge_follows_a_rollback_without_traffic(titanic: Path) -> None:
    def gauge(base: str) -> str:
        found = re.search(r'shipyard_model_version\{model="titanic"\} (\S+)',
                          http.get(f"{base}/metrics", headers=AUTH).text)
        return found.group(1) if found else "absent"

    def serving_version(base: str, version: int) -> bool:
        return http.get(f"{base}/ready", headers=AUTH).json()["models"] == {"titanic": version}

    with serving(titanic, "--poll", "0.3") as base:
        assert gauge(base) == "1.0"  # known from the load, not from a first request
        run("models", "promote", "titanic", "2", "--reason", "gauge", cwd=titanic)
        wait_for(lambda: serving_version(base, 2), "v2 loaded")
        assert gauge(base) == "2.0"
        run("models", "rollback", "titanic", "--reason", "gauge", cwd=titanic)
        wait_for(lambda: serving_version(base, 1), "v1 loaded again")
        assert gauge(base) == "1.0"
        assert "/predict" not in http.get(f"{base}/metrics", headers=AUTH).text  # no traffic


def test_overload_is_refused_fast_and_the_server_survives(titanic: Path) -> None:
    with serving(titanic, "--max-concurrency", "1", "--max-queue", "1") as base:
        report = run_load(f"{base}/v1/models/titanic/predict", concurrency=32, requests=800,
                          payload={"rows": [ROW]}, headers=AUTH)
        assert set(report.statuses) <= {"200", "503"}, report.summary()
        assert report.statuses["503"] > 0 and report.statuses["200"] > 0
        assert http.get(f"{base}/health").status_code == 200
        after = http.post(f"{base}/v1/models/titanic/predict", json={"rows": [ROW]},
                           headers=AUTH)
        assert after.status_code == 200


@pytest.mark.parametrize("example", ["titanic", "shop"])
def test_schemathesis_with_every_check_finds_nothing(example: str, request: pytest.FixtureRequest,
                                                     tmp_path: Path) -> None:
    # Every check: no 5xx, and every status, header, content type and body as documented;
    # schema-valid data accepted, invalid data refused. The trigger route starts real runs.
    # Schemathesis sends a wrong key to every operation: the server lets it send them all
    # (a 429 is right, but not what its wrong-key check expects). /invocations' documented
    # body is MLflow's, not the model's columns, so valid-looking rows may rightly get 400:
    # every other check runs on it.
    root = request.getfixturevalue(example)
    with serving(root, "--wrong-keys-burst", "100000") as base:
        for selection in (["--exclude-path", "/v1/pipelines/{name}/runs",
                           "--exclude-path", "/invocations"],
                          ["--include-path", "/invocations",
                           "--exclude-checks", "positive_data_acceptance"]):
            done = subprocess.run(
                [str(Path(os.sys.executable).parent / "schemathesis"), "run",
                 f"{base}/openapi.json", "--checks", "all", "-H", f"Authorization: Bearer {KEY}",
                 "--max-examples", FUZZ_EXAMPLES, "--request-timeout", str(PATIENCE_S), *selection],
                capture_output=True, text=True, timeout=3 * PATIENCE_S, check=False, cwd=tmp_path)
            assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
            assert " passed" in done.stdout and "failed" not in done.stdout


@contextmanager
def in_process(root: Path, **limits: Any) -> Iterator[TestClient]:
    """The app of ``shipyard serve`` for ``root``, in this process, its models loaded."""
    project = Project.open(root, "dev")
    config = project.config.serving.model_copy(update=limits)
    with TestClient(create_app(project, ApiKeys([KEY]), config), headers=AUTH) as client:
        wait_for(lambda: client.get("/ready").status_code == 200, "models loaded")
        yield client


def post_raw(client: TestClient, text: str) -> Any:
    """POST ``text`` as the predict body byte for byte (JSON escapes of lone surrogates,
    NaN, 1e309: what no JSON encoder of a client would write)."""
    return client.post("/v1/models/titanic/predict", content=text.encode(),
                       headers={"content-type": "application/json"})


def strict_json(text: str) -> Any:
    """``text`` parsed as standard JSON: NaN or Infinity in it fail the test."""
    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} in a response body is not JSON")
    return json.loads(text, parse_constant=refuse)


def row_with(field: str, raw: str) -> str:
    """A valid row's JSON with ``field`` set to the raw JSON text ``raw``."""
    others = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in ROW.items() if k != field)
    return f'{{{others}, "{field}": {raw}}}'


@pytest.fixture(scope="class")
def client(titanic: Path) -> Iterator[TestClient]:
    with in_process(titanic) as client:
        yield client


class TestHostileRequests:
    """Whatever a request holds, it fails alone with a 4xx naming the field, and the model
    answers the next request as before."""

    @pytest.mark.parametrize(("field", "raw"), [
        ("pclass", '"\\ud800"'), ("sex", '"male\\udfff"'),
        ("sibsp", "NaN"), ("sibsp", "Infinity"), ("parch", "-Infinity"), ("sibsp", "1e309"),
        ("age", "NaN"), ("age", "Infinity"), ("age", "-Infinity"), ("age", "1e309"),
        ("age", "1e308"), ("age", "-1e30"), ("sibsp", "4000000000"),
        ("sibsp", "true"), ("sibsp", '"3"'), ("parch", "false"), ("sibsp", "1.5"),
        ("parch", "1" + "0" * 30)])
    def test_a_bad_value_is_422_naming_its_field(self, client: TestClient, field: str,
                                                  raw: str) -> None:
        before = client.post("/v1/models/titanic/predict", json={"rows": [ROW]}).json()
        answer = post_raw(client, f'{{"rows": [{row_with(field, raw)}]}}')
        assert answer.status_code == 422, answer.text
        assert [e["loc"] for e in strict_json(answer.text)["detail"]] == [
            ["body", "rows", 0, field]]
        after = client.post("/v1/models/titanic/predict", json={"rows": [ROW]})
        assert after.status_code == 200 and after.json() == before

    @pytest.mark.parametrize(("field", "value", "known"), [
        ("sex", "alien", ("female", "male")), ("pclass", "4th", ("1st", "2nd", "3rd"))])
    def test_an_unknown_category_is_422_naming_field_value_and_the_known_ones(
            self, client: TestClient, field: str, value: str, known: tuple[str, ...]) -> None:
        url = "/v1/models/titanic/predict"
        answer = client.post(url, json={"rows": [ROW, {**ROW, field: value}]})
        assert answer.status_code == 422, answer.text
        [error] = answer.json()["detail"]
        assert error["loc"] == ["body", "rows", 1, field] and error["input"] == value
        assert f"{field}: unknown category {value!r}" in error["msg"]
        assert ", ".join(map(repr, known)) in error["msg"]
        row = client.get("/openapi.json").json()["components"]["schemas"]["TitanicRow"]
        assert json.dumps(list(known)) in json.dumps(row["properties"][field])  # documented
        assert client.post(url, json={"rows": [ROW, {**ROW, field: known[-1]}]}).status_code == 200

    def test_a_number_far_outside_training_is_refused_saying_so(self,
                                                                 client: TestClient) -> None:
        url = "/v1/models/titanic/predict"
        answer = client.post(url, json={"rows": [{**ROW, "age": 1e308}]})
        assert answer.status_code == 422, answer.text
        [error] = answer.json()["detail"]
        assert error["loc"] == ["body", "rows", 0, "age"]
        assert "outside the range this model takes" in error["msg"]
        assert "refused, not clipped" in error["msg"] and "serving.input_margin" in error["msg"]
        age = client.get("/openapi.json").json()["components"]["schemas"]["TitanicRow"][
            "properties"]["age"]
        documented = age.get("anyOf", [age])[0]
        assert documented["minimum"] < 0 and 80 < documented["maximum"] < 1000  # documented
        within = client.post(url, json={"rows": [{**ROW, "age": documented["maximum"]}]})
        assert within.status_code == 200, within.text
        assert 0 < within.json()["predictions"][0]["probability"] < 1

    def test_an_integral_number_is_an_integer(self, client: TestClient) -> None:
        answer = post_raw(client, f'{{"rows": [{row_with("sibsp", "1.0")}]}}')
        assert answer.status_code == 200, answer.text

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def test_any_json_in_any_field_fails_alone(self, client: TestClient,
                                               data: st.DataObject) -> None:
        baseline = client.post("/v1/models/titanic/predict", json={"rows": [ROW]}).json()
        body = data.draw(predict_bodies(), label="body")
        answer = post_raw(client, body)
        assert answer.status_code in (200, 400, 422), (body, answer.status_code, answer.text)
        sent = strict_json(answer.text)
        if answer.status_code == 422:
            assert all(e["loc"][0] == "body" for e in sent["detail"]), sent
        if answer.status_code == 200:
            assert all(0 <= p["probability"] <= 1 for p in sent["predictions"]), sent
        after = client.post("/v1/models/titanic/predict", json={"rows": [ROW]})
        assert after.status_code == 200 and after.json() == baseline


def _number(value: float) -> str:
    return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(repr(value), repr(value))


def json_values() -> st.SearchStrategy[str]:
    """Raw JSON text of any value: any Unicode (lone surrogates as escapes), any number
    (huge, tiny, non-finite as Python writes them), nested lists and objects."""
    strings = st.lists(st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr)),
                       max_size=12).map(lambda chars: json.dumps("".join(chars)))
    numbers = st.one_of(
        st.integers().map(str), st.integers(-(10**400), 10**400).map(str),
        st.floats().map(_number),
        st.sampled_from(["1e309", "-1e309", "1e-400", "1" * 5000, "-0", "0.0"]))
    leaves = st.one_of(strings, numbers, st.sampled_from(["true", "false", "null"]))
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: f"[{','.join(items)}]"),
        st.lists(st.tuples(strings, inner), max_size=4).map(
            lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}")),
        max_leaves=8)


def predict_bodies() -> st.SearchStrategy[str]:
    """Predict bodies where any field (``rows`` too), or an unknown one, holds anything."""
    valid = {json.dumps(k): json.dumps(v) for k, v in ROW.items()}  # JSON text → JSON text
    good = "{" + ",".join(f"{k}: {v}" for k, v in valid.items()) + "}"
    keys = json_values().filter(lambda text: text.startswith('"'))

    @st.composite
    def body(draw: st.DrawFn) -> str:
        if draw(st.integers(0, 3)) == 0:
            return f'{{"rows": {draw(json_values())}}}'
        row = dict(valid)
        for key in draw(st.lists(st.sampled_from(sorted(valid)), min_size=1, unique=True)):
            if draw(st.booleans()):
                row[key] = draw(json_values())
            else:
                del row[key]
        if draw(st.booleans()):
            row[draw(keys)] = draw(json_values())
        text = "{" + ",".join(f"{k}: {v}" for k, v in row.items()) + "}"
        return f'{{"rows": [{good}, {text}]}}' if draw(st.booleans()) else f'{{"rows": [{text}]}}'

    return body()


def test_a_batcher_that_ended_makes_the_server_not_ready_and_predict_503(titanic: Path) -> None:
    with in_process(titanic) as client:
        client.portal.call(client.app.state.batchers["titanic"].stop)
        wait_for(lambda: client.get("/ready").status_code == 503, "/ready says not ready")
        ready = client.get("/ready").json()
        assert ready["ready"] is False and "titanic" in ready["detail"]
        answer = client.post("/v1/models/titanic/predict", json={"rows": [ROW]})
        assert answer.status_code == 503 and "restart" in answer.json()["detail"]


@pytest.mark.anyio
async def test_the_limits_answer_413_and_504_and_count_them_only_as_rejected(
        titanic: Path) -> None:
    project = Project.open(titanic, "dev")
    config = project.config.serving.model_copy(update={"max_body_bytes": 1000,
                                                        "timeout_s": 0.5})
    app = create_app(project, ApiKeys([KEY]), config)  # no model needed: no predict is made
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                 headers=AUTH) as client:
        async def large() -> Any:  # no content-length: the size shows as it streams in
            for _ in range(20):
                yield b" " * 100

        async def stalled() -> Any:  # a client that never finishes its body
            yield b'{"rows": ['
            await asyncio.Event().wait()

        url = "/v1/models/titanic/predict"
        too_large = await client.post(url, content=large())
        assert too_large.status_code == 413, too_large.text
        assert (await client.post(url, content=stalled())).status_code == 504
        metrics = (await client.get("/metrics")).text
    counted = dict(re.findall(r'shipyard_rejected_total\{reason="(\w+)"\} (\S+)', metrics))
    assert counted == {"body_too_large": "1.0", "timeout": "1.0"}
    assert url not in metrics  # answered by the limits, not by the route: never a 400 or 500


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_the_openapi_document_tells_the_truth(titanic: Path, shop: Path) -> None:
    predict = TestClient(create_app(Project.open(titanic, "dev"), ApiKeys([KEY])), headers=AUTH)
    spec = predict.get("/openapi.json").json()
    documented = spec["paths"]["/v1/models/titanic/predict"]["post"]["responses"]
    assert set(documented) == {"200", "400", "401", "413", "422", "429", "503", "504"}
    assert set(spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
    assert predict.get("/metrics").headers["content-type"].startswith("text/plain")
    recommender = TestClient(create_app(Project.open(shop, "dev"), ApiKeys([KEY])), headers=AUTH)
    answer = recommender.get("/v1/recommendations/C1?k=8447")
    assert answer.status_code == 422
    [error] = answer.json()["detail"]  # the documented HTTPValidationError, not a string
    assert error["loc"] == ["query", "k"] and error["type"] == "less_than_equal"


def test_recommendations_come_from_the_results_db(shop: Path) -> None:
    project = Project.open(shop, "dev")
    store = ResultsStore(sa.create_engine(project.results_url))
    current = store.current("recommender")
    customer = store.snapshot("recommender")[0][0]
    with in_process(shop) as client:
        found = client.get(f"/v1/recommendations/{customer}?k=5")
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["source"] == "results" and body["version"] == current.version == 1
        assert body["set_id"] == current.id  # the answer names the set it came from
        assert len(body["items"]) == 5
        unknown = client.get("/v1/recommendations/NOBODY")
        assert unknown.json()["source"] == "popularity" and len(unknown.json()["items"]) == 10
        assert unknown.json()["set_id"] is None
    # what was served is logged under the X-Request-ID of each answer (flushed at shutdown)
    served = find_request(project, found.headers["X-Request-ID"])
    (row,) = served.rows
    assert (row["customer_id"], row["version"], row["fallback"]) == (customer, 1, False)
    assert row["items"] == [i["product_id"] for i in body["items"]]
    (fallback,) = find_request(project, unknown.headers["X-Request-ID"]).rows
    assert fallback["customer_id"] == "NOBODY" and fallback["fallback"]


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


def test_predict_refuses_an_unknown_category(titanic: Path, tmp_path: Path) -> None:
    import pandas as pd

    pd.DataFrame([ROW, {**ROW, "sex": "alien"}]).to_csv(tmp_path / "rows.csv", index=False)
    done = run("predict", "titanic", "--input", str(tmp_path / "rows.csv"), "--output",
               str(tmp_path / "scored.parquet"), cwd=titanic, check=1)
    message = " ".join(done.stderr.split())
    assert "sex: unknown category 'alien'; the model learnt 'female', 'male'" in message
    assert "row(s) 2" in message and "Traceback" not in done.stderr
    assert not (tmp_path / "scored.parquet").exists()


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
                     smoke=False, sample=None, tuning=None, tracking_run_id=None,
                     data_versions={})
    stepped = predict_step(ctx, rows, "titanic")
    assert stepped["probability"].tolist() == pytest.approx(scored["probability"].tolist())
    assert stepped["model_version"].nunique() == 1
