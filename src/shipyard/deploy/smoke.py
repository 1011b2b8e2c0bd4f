"""The HTTP API tests, against any URL: the checks a CD job, the image test and a person after a
deploy all run (``shipyard deploy smoke URL``).

They need nothing but the URL and a key: what is served is read from the server itself
(``/ready`` names the models and versions, the OpenAPI document the predict routes, each
model's ``/example`` a valid body). For each served classifier, the example must be answered
with one prediction per row by the version ``/ready`` names, and each kind of wrong input
(missing column, wrong type, unknown column, malformed JSON, more rows than the route takes)
must be refused with 422 (or 413 for a body over the byte limit) and a body that names what
was wrong. Every route but ``/health`` (and MLflow's ``/ping``) must refuse a request without a key with
401. The protocols clients already speak: the Open Inference Protocol (V2) and MLflow's
``/invocations`` must answer the example too, and refuse in their own error shapes.
Recommendations: a known customer (``customer``) gets a non-empty list; an unknown one the
popularity fallback or a 404 that says so, as the server is configured.

Nothing here changes the server's state: the predict requests are logged like any other.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["Check", "SmokeTest", "wait_ready"]

_UNKNOWN_MODEL = "shipyard-smoke-no-such-model"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


class _Failed(Exception):
    """A check's expectation not met; its message is the check's detail."""


def _expect(condition: bool, detail: str) -> None:
    if not condition:
        raise _Failed(detail)


def _said(response: httpx.Response) -> str:
    return f"{response.status_code} {response.text[:300]}"


def wait_ready(url: str, key: str, bound_s: float, *, poll_s: float = 0.5) -> None:
    """Poll ``/ready`` until it answers 200 or ``bound_s`` has passed (the checks then say
    what is wrong): a deploy's pods take a while to load their models."""
    deadline = time.monotonic() + bound_s
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"{url.rstrip('/')}/ready",
                              headers={"Authorization": f"Bearer {key}"}).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(poll_s)


class SmokeTest:
    """The checks against the server at ``url``; :meth:`run` yields them as they finish."""

    def __init__(self, url: str, key: str, *, customer: str | None = None,
                 timeout_s: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.customer = customer
        self.auth = {"Authorization": f"Bearer {key}"}
        self.client = httpx.Client(base_url=self.url, timeout=timeout_s, transport=transport)
        self.models: dict[str, int] = {}  # served, from /ready
        self.openapi: dict[str, Any] = {}
        self.examples: dict[str, list[dict[str, Any]]] = {}  # each classifier's valid rows

    def run(self) -> Iterator[Check]:
        """Every check, in order; one that cannot run (say, no server) fails with the reason."""
        with self.client:
            yield self._check("GET /health answers 200", self._health)
            yield self._check("no key: 401 on /ready, /metrics, /openapi.json", self._no_key)
            yield self._check("GET /ready names the served versions", self._ready)
            yield self._check("GET /openapi.json lists the routes", self._document)
            for name in sorted(self.models):
                if self._predict_path(name) in self.openapi.get("paths", {}):
                    yield from self._classifier(name)
            yield from self._open_inference()
            yield from self._invocations()
            yield from self._recommendations()
            yield self._check("unknown model: 404", self._unknown_model)

    def _check(self, name: str, step: Callable[[], str]) -> Check:
        try:
            return Check(name, True, step())
        except _Failed as failed:
            return Check(name, False, str(failed))
        except httpx.HTTPError as error:
            return Check(name, False, f"{type(error).__name__}: {error} ({self.url})")
        except (ValueError, KeyError, TypeError) as error:  # an answer not shaped as documented
            return Check(name, False, f"unexpected answer: {type(error).__name__}: {error}")

    # -- operations ------------------------------------------------------------------------

    def _health(self) -> str:
        response = self.client.get("/health")
        _expect(response.status_code == 200 and response.json().get("status") == "ok",
                _said(response))
        return "ok"

    def _no_key(self) -> str:
        statuses = {path: self.client.get(path).status_code
                    for path in ("/ready", "/metrics", "/openapi.json")}
        wrong = self.client.get("/ready", headers={"Authorization": "Bearer not-the-key-" +
                                                   secrets.token_hex(8)}).status_code
        _expect(set(statuses.values()) == {401} and wrong == 401,
                f"without a key: {statuses}; with a wrong key: {wrong}")
        return "401 without a key and with a wrong one"

    def _ready(self) -> str:
        response = self.client.get("/ready", headers=self.auth)
        _expect(response.status_code == 200, _said(response))
        body = response.json()
        self.models = {str(n): int(v) for n, v in body["models"].items()}
        _expect(body.get("ready") is True and bool(self.models),
                f"ready={body.get('ready')}, models={self.models}: nothing served")
        return ", ".join(f"{n} v{v}" for n, v in sorted(self.models.items()))

    def _document(self) -> str:
        response = self.client.get("/openapi.json", headers=self.auth)
        _expect(response.status_code == 200, _said(response))
        self.openapi = response.json()
        return f"{len(self.openapi['paths'])} paths"

    def _unknown_model(self) -> str:
        response = self.client.post(self._predict_path(_UNKNOWN_MODEL), headers=self.auth,
                                    json={"rows": [{}]})
        _expect(response.status_code == 404 and _UNKNOWN_MODEL in response.text,
                _said(response))
        return response.json()["detail"]

    # -- a classifier ----------------------------------------------------------------------

    @staticmethod
    def _predict_path(name: str) -> str:
        return f"/v1/models/{name}/predict"

    def _classifier(self, name: str) -> Iterator[Check]:
        example: list[dict[str, Any]] = []

        def correct() -> str:
            shown = self.client.get(f"/v1/models/{name}/example", headers=self.auth)
            _expect(shown.status_code == 200, f"example: {_said(shown)}")
            example.extend(shown.json()["rows"])
            self.examples[name] = example
            response = self._post(name, {"rows": example})
            _expect(response.status_code == 200, _said(response))
            body = response.json()
            predictions = body["predictions"]
            _expect(body["version"] == self.models[name],
                    f"answered by v{body['version']}, /ready names v{self.models[name]}")
            _expect(len(predictions) == len(example),
                    f"{len(predictions)} predictions for {len(example)} rows")
            _expect(all(0 <= p["probability"] <= 1 and p["prediction"] in (0, 1)
                        for p in predictions), f"out of range: {predictions}")
            return f"{len(example)} row(s) → {len(predictions)} prediction(s) by v{body['version']}"

        yield self._check(f"{name}: example input → 200", correct)
        if not example:
            return
        row_schema = self._row_schema(name)
        required = [c for c in row_schema.get("required", []) if c in example[0]]
        properties: dict[str, Any] = row_schema.get("properties", {})

        def refused(body: Any, column: str | None, statuses: tuple[int, ...] = (422,),
                    raw: bytes | None = None) -> str:
            response = (self._post(name, raw=raw) if raw is not None
                        else self._post(name, body))
            _expect(response.status_code in statuses, _said(response))
            detail = response.json()["detail"]
            _expect(bool(detail), f"{response.status_code} with no detail")
            text = json.dumps(detail)
            _expect(column is None or column in text,
                    f"{response.status_code}, but the detail does not name {column!r}: "
                    f"{text[:300]}")
            first = detail[0] if isinstance(detail, list) else {"msg": detail}
            return f"{response.status_code}: {first.get('loc', '')} {first['msg']}"

        if required:
            column = required[0]
            yield self._check(f"{name}: missing column → 422", lambda: refused(
                {"rows": [{k: v for k, v in example[0].items() if k != column}]}, column))
        typed = _wrong_type(properties)
        if typed is not None:
            column, value = typed
            yield self._check(f"{name}: wrong type → 422", lambda: refused(
                {"rows": [{**example[0], column: value}]}, column))
        yield self._check(f"{name}: unknown column → 422", lambda: refused(
            {"rows": [{**example[0], "shipyard_smoke_unknown": 1}]}, "shipyard_smoke_unknown"))
        yield self._check(f"{name}: malformed JSON → 422", lambda: refused(
            None, None, raw=b'{"rows": [' + json.dumps(example[0]).encode()))
        limit = self._max_rows(name)
        if limit is not None:
            yield self._check(f"{name}: {limit + 1} rows (over the limit) → 413/422",
                              lambda: refused({"rows": [example[0]] * (limit + 1)}, None,
                                              (413, 422)))

        def no_key() -> str:
            response = self.client.post(self._predict_path(name), json={"rows": example})
            _expect(response.status_code == 401, _said(response))
            return "401"

        yield self._check(f"{name}: predict without a key → 401", no_key)

    def _post(self, name: str, body: Any = None, *, raw: bytes | None = None) -> httpx.Response:
        headers = {**self.auth, "Content-Type": "application/json"}
        content = raw if raw is not None else json.dumps(body).encode()
        return self.client.post(self._predict_path(name), headers=headers, content=content)

    def _request_schema(self, name: str) -> dict[str, Any]:
        operation = self.openapi["paths"][self._predict_path(name)]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        return self._resolve(schema)

    def _row_schema(self, name: str) -> dict[str, Any]:
        rows = self._request_schema(name)["properties"]["rows"]
        return self._resolve(rows["items"])

    def _max_rows(self, name: str) -> int | None:
        limit = self._request_schema(name)["properties"]["rows"].get("maxItems")
        return int(limit) if limit is not None else None

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            found: Any = self.openapi
            for part in schema["$ref"].removeprefix("#/").split("/"):
                found = found[part]
            schema = found
        return schema

    # -- the protocols clients already speak ---------------------------------------------

    def _open_inference(self) -> Iterator[Check]:
        """The Open Inference Protocol (V2): each classifier's example as tensors, answered
        by the version /ready names; an unknown model and a request without a key refused
        in the protocol's shape."""
        if "/v2/models/{name}/infer" not in self.openapi.get("paths", {}):
            return
        for name, rows in sorted(self.examples.items()):
            def infer(name: str = name, rows: list[dict[str, Any]] = rows) -> str:
                shown = self.client.get(f"/v2/models/{name}", headers=self.auth)
                _expect(shown.status_code == 200, f"metadata: {_said(shown)}")
                inputs = [{"name": t["name"], "datatype": t["datatype"], "shape": [len(rows)],
                           "data": [r.get(t["name"]) for r in rows]}
                          for t in shown.json()["inputs"]]
                response = self.client.post(f"/v2/models/{name}/infer", headers=self.auth,
                                            json={"inputs": inputs})
                _expect(response.status_code == 200, _said(response))
                body = response.json()
                outputs = {o["name"]: o["data"] for o in body["outputs"]}
                _expect(body["model_version"] == str(self.models[name]),
                        f"answered by v{body['model_version']}, /ready names "
                        f"v{self.models[name]}")
                _expect(len(outputs.get("probability", [])) == len(rows)
                        and all(0 <= p <= 1 for p in outputs["probability"]),
                        f"outputs {outputs} for {len(rows)} row(s)")
                return f"{len(rows)} row(s) → {len(rows)} probabilities by v{body['model_version']}"

            yield self._check(f"V2: {name} metadata and infer → 200", infer)

        def unknown() -> str:
            response = self.client.post(f"/v2/models/{_UNKNOWN_MODEL}/infer", headers=self.auth,
                                        json={"inputs": [{"name": "x", "shape": [1],
                                                          "datatype": "FP64", "data": [1.0]}]})
            _expect(response.status_code == 404 and _UNKNOWN_MODEL in response.json()["error"],
                    _said(response))
            return response.json()["error"]

        def no_key() -> str:
            response = self.client.get("/v2/health/ready")
            _expect(response.status_code == 401 and "error" in response.json(), _said(response))
            return "401"

        yield self._check("V2: unknown model → 404 {error}", unknown)
        yield self._check("V2: without a key → 401", no_key)

    def _invocations(self) -> Iterator[Check]:
        """MLflow's scoring protocol, when the server answers it with one classifier: the
        example as ``dataframe_split`` and ``dataframe_records``; /ping; no key → 401."""
        if "/invocations" not in self.openapi.get("paths", {}) or len(self.examples) != 1:
            return
        [(name, rows)] = self.examples.items()
        columns = list(rows[0])
        for field, payload in (("dataframe_split", {"columns": columns, "data": [
                [r.get(c) for c in columns] for r in rows]}), ("dataframe_records", rows)):
            def score(field: str = field, payload: Any = payload) -> str:
                response = self.client.post("/invocations", headers=self.auth,
                                            json={field: payload})
                _expect(response.status_code == 200, _said(response))
                predictions = response.json()["predictions"]
                _expect(len(predictions) == len(rows) and set(predictions) <= {0, 1},
                        f"predictions {predictions} for {len(rows)} row(s)")
                return f"{len(rows)} row(s) → {predictions} ({name})"

            yield self._check(f"/invocations: {field} → 200", score)

        def ping() -> str:
            response = self.client.get("/ping")
            _expect(response.status_code == 200, _said(response))
            return "200"

        def no_key() -> str:
            response = self.client.post("/invocations", json={"dataframe_records": rows})
            _expect(response.status_code == 401
                    and response.json().get("error_code") == "UNAUTHENTICATED", _said(response))
            return "401 UNAUTHENTICATED"

        yield self._check("/ping → 200", ping)
        yield self._check("/invocations without a key → 401", no_key)

    # -- recommendations -------------------------------------------------------------------

    def _recommendations(self) -> Iterator[Check]:
        path = "/v1/recommendations/{customer_id}"
        if path not in self.openapi.get("paths", {}):
            return
        recommenders = [n for n in self.models
                        if self._predict_path(n) not in self.openapi["paths"]]
        unknown = f"shipyard-smoke-{secrets.token_hex(4)}"

        def for_unknown() -> str:
            response = self.client.get(f"/v1/recommendations/{unknown}", headers=self.auth)
            if response.status_code == 404:
                _expect(unknown in response.json()["detail"], _said(response))
                why = "no popularity fallback" if recommenders else "no recommender served"
                return f"404 ({why}): {response.json()['detail']}"
            _expect(response.status_code == 200 and bool(recommenders), _said(response))
            body = response.json()
            _expect(body["source"] == "popularity" and bool(body["items"]),
                    f"source {body['source']!r}, {len(body['items'])} items")
            return f"200: {len(body['items'])} popular items (fallback) by v{body['version']}"

        if recommenders and self.customer is not None:
            customer = self.customer

            def for_known() -> str:
                response = self.client.get(f"/v1/recommendations/{customer}", headers=self.auth,
                                           params={"k": 5})
                _expect(response.status_code == 200, _said(response))
                body = response.json()
                _expect(body["customer_id"] == customer and 0 < len(body["items"]) <= 5,
                        f"{len(body['items'])} items for {body['customer_id']}")
                return f"200: {len(body['items'])} items from {body['source']}"

            yield self._check(f"recommendations: customer {customer} → 200", for_known)
        yield self._check("recommendations: unknown customer → fallback or 404", for_unknown)


def _wrong_type(properties: dict[str, Any]) -> tuple[str, Any] | None:
    """A column and a value of a JSON type it cannot take: text for a number, a number for
    text."""
    for column, schema in properties.items():
        kinds = {s.get("type") for s in schema.get("anyOf", [schema])}
        if kinds & {"number", "integer"}:
            return column, "shipyard-smoke-not-a-number"
    for column, schema in properties.items():
        if "string" in {s.get("type") for s in schema.get("anyOf", [schema])}:
            return column, 12345
    return None
