"""The server's guards, in process on the demo pipeline project (no model of its own): roles,
wrong-key floods, identifiers a database cannot hold, readiness without a model, and every
answer's status listed in the OpenAPI document of its route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shipyard.pipeline import RunStore
from shipyard.project import Project
from shipyard.serving import ApiKeys, create_app
from shipyard.serving.wrong_keys import BURST
from tests.signin import sign_in
from tests.unit.pipeline.test_project import demo_project

OPERATOR = "o" * 24
VIEWER = "v" * 24
RUNS = "/v1/pipelines/train/runs"


def as_key(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return demo_project(tmp_path_factory.mktemp("guards") / "demo")


@pytest.fixture
def client(demo: Project) -> Iterator[TestClient]:
    """A new app each test: the wrong-key counts start afresh."""
    with TestClient(create_app(demo, ApiKeys([OPERATOR, f"{VIEWER}:viewer"]))) as client:
        yield client


def test_a_viewer_key_reads_run_states_but_cannot_start_a_run(demo: Project,
                                                               client: TestClient) -> None:
    refused = client.post(RUNS, headers=as_key(VIEWER))
    assert refused.status_code == 403, refused.text
    assert "role is viewer" in refused.json()["detail"]
    assert RunStore(demo.metadata_engine).recent(limit=5, pipeline="train") == []
    # past the role check: an operator reaches the route (an unknown pipeline, no run)
    assert client.post("/v1/pipelines/nope/runs", headers=as_key(OPERATOR)).status_code == 404
    assert client.get(f"{RUNS}/train-nosuchrun", headers=as_key(VIEWER)).status_code == 404


def test_a_wrong_key_flood_gets_429_and_right_keys_still_pass(client: TestClient) -> None:
    assert client.get("/ready", headers=as_key(OPERATOR)).status_code == 503  # (no model)
    statuses = [client.get("/metrics", headers=as_key(f"guess-{i:04d}-" + "x" * 16)).status_code
                for i in range(200)]
    assert statuses[:BURST] == [401] * BURST
    assert statuses[BURST:] == [429] * (200 - BURST)
    flooded = client.get("/metrics", headers=as_key("y" * 24))
    assert flooded.status_code == 429 and int(flooded.headers["retry-after"]) >= 1
    assert "too many wrong API keys" in flooded.json()["detail"]
    # the key already right from this address passes, as fast as ever; a key not yet seen
    # from here waits like any guess (a guess learns nothing), from elsewhere it passes
    assert client.get("/metrics", headers=as_key(OPERATOR)).status_code == 200
    assert client.get("/metrics", headers=as_key(VIEWER)).status_code == 429
    other = TestClient(client.app, client=("192.0.2.7", 4000))  # (its lifespan runs already)
    assert other.get("/metrics", headers=as_key(VIEWER)).status_code == 200
    # the documents' Basic authentication and the web UI's sign-in count the same way
    docs = client.get("/openapi.json", auth=("me", "z" * 24))
    assert docs.status_code == 429 and "retry-after" in docs.headers
    signed = sign_in(client, "z" * 24)
    assert signed.status_code == 429 and "retry-after" in signed.headers
    assert "too many wrong API keys" in signed.text


def test_wrong_sign_ins_alone_reach_the_limit(client: TestClient) -> None:
    statuses = [sign_in(client, f"guess-{i:04d}-" + "x" * 16).status_code
                for i in range(BURST + 5)]
    assert statuses == [401] * BURST + [429] * 5
    assert client.get("/ready", headers=as_key(VIEWER)).status_code == 429  # never seen here


def test_ready_is_503_naming_the_fix_when_there_is_no_model_to_serve(
        client: TestClient) -> None:
    answer = client.get("/ready", headers=as_key(OPERATOR))
    assert answer.status_code == 503, answer.text
    assert answer.json()["ready"] is False
    assert "no model to serve" in answer.json()["detail"]
    assert "declares none under models:" in answer.json()["detail"]


def _documented(client: TestClient) -> dict[tuple[str, str], set[int]]:
    paths = client.get("/openapi.json", headers=as_key(OPERATOR)).json()["paths"]
    return {(method.upper(), path): {int(s) for s in operation["responses"]}
            for path, methods in paths.items() for method, operation in methods.items()}


def _hostile(method: str, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Requests to one operation: every key (none, wrong, viewer, operator), identifiers no
    database holds, and bodies that are no JSON, nested too deep or too large."""
    filled = path.replace("{name}", "train").replace("{run_id}", "r").replace(
        "{customer_id}", "C00042")
    nul = path.replace("{name}", "train").replace("{run_id}", "a%00b").replace(
        "{customer_id}", "C00%0042")
    for headers in ({}, as_key("w" * 24), as_key(VIEWER), as_key(OPERATOR)):
        yield filled, {"headers": headers}
    yield nul, {"headers": as_key(OPERATOR)}
    if method == "POST":
        json_headers = {**as_key(OPERATOR), "Content-Type": "application/json"}
        for body in (b"{", b"[" * 100_000, json.dumps({"params": {"x": "y" * 2_000_000}}).encode(),
                     b'{"params": {"seed": 1e999}}', b'{"params": []}'):
            yield filled, {"headers": json_headers, "content": body}


def test_every_answer_is_a_status_its_route_documents(client: TestClient) -> None:
    documented = _documented(client)
    assert (
        documented[("POST", "/v1/pipelines/{name}/runs")]
        >= {202, 400, 401, 403, 404, 409, 413, 422, 429, 503, 504})
    undocumented = []
    for (method, path), statuses in sorted(documented.items()):
        for url, request in _hostile(method, path):
            if method == "POST" and path == "/v1/pipelines/{name}/runs" and request["headers"].get(
                    "Authorization") == as_key(OPERATOR)["Authorization"] and "content" not in request:
                continue  # would start a real run (test_runs starts those)
            answer = client.request(method, url, **request)
            if answer.status_code not in statuses:
                undocumented.append((method, url, answer.status_code, answer.text[:100]))
    assert not undocumented, undocumented


def test_a_nul_in_an_identifier_is_a_422_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    project = demo_project(tmp_path / "pg", metadata_db=pg_url, results_db=pg_url)
    with TestClient(create_app(project, ApiKeys([OPERATOR])), headers=as_key(OPERATOR),
                    raise_server_exceptions=False) as client:
        for url in ("/v1/recommendations/C00%0042", f"{RUNS}/a%00b"):
            answer = client.get(url)
            assert answer.status_code == 422, (url, answer.text)
            assert "pattern" in answer.text
        assert client.get("/v1/recommendations/C00042").status_code == 404
        assert client.get(f"{RUNS}/ab").status_code == 404
    project.metadata_engine.dispose()
    project.results_engine.dispose()


def test_the_web_ui_answers_its_own_addresses_with_its_own_pages(client: TestClient) -> None:
    # found by Schemathesis: a newline in a UI path fell through to the API's JSON 404, and a
    # 405 of the UI lost its Allow header
    assert sign_in(client, OPERATOR).status_code == 303
    odd = client.get("/ui/models/a%0Ab")
    assert odd.status_code == 404 and odd.headers["content-type"].startswith("text/html")
    assert 'class="error"' in odd.text
    wrong = client.request("TRACE", "/ui/models")
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]
