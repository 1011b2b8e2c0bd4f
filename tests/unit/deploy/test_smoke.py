"""The smoke checks against fake servers: each kind of wrong answer fails the check that looks
for it, with a detail that says what came back (the real server: tests/e2e/test_deploy_smoke.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.deploy.smoke import Check, SmokeTest

KEY = "unit-key-" + "x" * 16
ROW = {"pclass": "1st", "age": 3.0}
OPENAPI = {
    "paths": {"/v1/models/titanic/predict": {"post": {"requestBody": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Req"}}}}}},
        "/v1/recommendations/{customer_id}": {}},
    "components": {"schemas": {
        "Req": {"properties": {"rows": {"items": {"$ref": "#/components/schemas/Row"},
                                        "maxItems": 3}}},
        "Row": {"properties": {"pclass": {"type": "string"},
                               "age": {"anyOf": [{"type": "number"}, {"type": "null"}]}},
                "required": ["pclass"]}}},
}


def server(*, lenient: bool = False, open_ready: bool = False,
           recommender: bool = False) -> httpx.MockTransport:
    """A fake Shipyard API; ``lenient`` answers 200 to any body, ``open_ready`` needs no key."""

    def handle(request: httpx.Request) -> httpx.Response:
        keyed = request.headers.get("authorization") == f"Bearer {KEY}"
        path = request.url.path
        if path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        if not keyed and not (open_ready and path == "/ready"):
            return httpx.Response(401, json={"detail": "missing or wrong API key"})
        models = {"titanic": 2, **({"recommender": 1} if recommender else {})}
        if path == "/ready":
            return httpx.Response(200, json={"ready": True, "models": models})
        if path == "/openapi.json":
            return httpx.Response(200, json=OPENAPI)
        if path == "/v1/models/titanic/example":
            return httpx.Response(200, json={"rows": [ROW]})
        if path == "/v1/models/titanic/predict":
            return predict(request.content, lenient)
        if path.startswith("/v1/recommendations/"):
            customer = path.rsplit("/", 1)[1]
            if not recommender:
                return httpx.Response(404, json={"detail": f"no recommendations for {customer!r}"})
            source = "results" if customer == "C1" else "popularity"
            return httpx.Response(200, json={"customer_id": customer, "version": 1,
                                             "source": source, "items": [{"product_id": "P",
                                                                          "score": 1.0}]})
        return httpx.Response(404, json={"detail": f"model {path.split('/')[3]!r} is not served"})

    return httpx.MockTransport(handle)


def predict(content: bytes, lenient: bool) -> httpx.Response:
    def refuse(loc: list[Any]) -> httpx.Response:
        return httpx.Response(422, json={"detail": [{"loc": loc, "msg": "wrong"}]})

    try:
        rows = json.loads(content)["rows"]
    except ValueError:
        return httpx.Response(200 if lenient else 422, json=(
            {"version": 2, "predictions": []} if lenient else
            {"detail": [{"loc": ["body", 1], "msg": "JSON decode error"}]}))
    if not lenient:
        if len(rows) > 3:
            return refuse(["body", "rows"])
        for row in rows:
            for column in row:
                if column not in ("pclass", "age"):
                    return refuse(["body", "rows", 0, column])
            if "pclass" not in row:
                return refuse(["body", "rows", 0, "pclass"])
            if not isinstance(row.get("age"), float | int | None):
                return refuse(["body", "rows", 0, "age"])
    return httpx.Response(200, json={"version": 2, "predictions": [
        {"prediction": 1, "probability": 0.9} for _ in rows]})


def checks(transport: httpx.MockTransport, **options: Any) -> dict[str, Check]:
    return {c.name: c for c in SmokeTest("http://api", KEY, transport=transport,
                                          **options).run()}


def test_a_correct_server_passes_every_check() -> None:
    found = checks(server())
    assert all(c.ok for c in found.values()), [c for c in found.values() if not c.ok]
    assert found["GET /ready names the served versions"].detail == "titanic v2"
    assert {"titanic: missing column → 422", "titanic: wrong type → 422",
            "titanic: unknown column → 422", "titanic: malformed JSON → 422",
            "titanic: 4 rows (over the limit) → 413/422",
            "titanic: predict without a key → 401"} <= set(found)
    assert "no recommender served" in found[
        "recommendations: unknown customer → fallback or 404"].detail


def test_a_server_that_takes_wrong_input_fails_those_checks() -> None:
    failed = {n: c.detail for n, c in checks(server(lenient=True)).items() if not c.ok}
    assert set(failed) == {"titanic: missing column → 422", "titanic: wrong type → 422",
                           "titanic: unknown column → 422", "titanic: malformed JSON → 422",
                           "titanic: 4 rows (over the limit) → 413/422"}
    assert failed["titanic: wrong type → 422"].startswith("200 ")


def test_an_open_ready_fails_the_key_check() -> None:
    found = checks(server(open_ready=True))
    assert not found["no key: 401 on /ready, /metrics, /openapi.json"].ok
    assert "'/ready': 200" in found["no key: 401 on /ready, /metrics, /openapi.json"].detail


def test_recommendations_for_a_known_and_an_unknown_customer() -> None:
    found = checks(server(recommender=True), customer="C1")
    assert found["recommendations: customer C1 → 200"].ok
    unknown = found["recommendations: unknown customer → fallback or 404"]
    assert unknown.ok and "popular" in unknown.detail


@pytest.mark.parametrize("url", ["http://127.0.0.1:9"])
def test_no_server_fails_with_the_reason(url: str) -> None:
    found = list(SmokeTest(url, KEY, timeout_s=5).run())
    assert found and not any(c.ok for c in found)
    assert "ConnectError" in found[0].detail


def test_the_probe_sends_the_first_key_without_its_role(tmp_path: Path) -> None:
    """A pod whose first key entry is ``KEY:viewer`` is Ready: the probe sends ``KEY``."""
    import http.server
    import subprocess
    import sys
    import threading

    from shipyard.deploy.image import probe

    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200 if seen[-1] == "Bearer first-key" else 401)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = tmp_path / "probe.py"
    script.write_text(probe())
    env = {"SHIPYARD_PORT": str(server.server_port), "SHIPYARD_API_KEYS": "first-key:viewer,other"}
    try:
        done = subprocess.run([sys.executable, str(script), "/ready"], env=env, timeout=60,
                              capture_output=True, text=True, check=False)
    finally:
        server.shutdown()
    assert seen == ["Bearer first-key"] and done.returncode == 0, done.stderr
