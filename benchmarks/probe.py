"""The hardening probe, run by hand: what issue 22's closing note repeats with new code.

Not a benchmark and not a test (nothing here is asserted: it counts). Against ``shipyard
serve`` of a trained Titanic project and of a published recommender project, each in its own
process on a free port of 127.0.0.1:

- ``schemathesis``: every check, ``--examples`` per operation, on each server's OpenAPI
  document, and on the web UI's routes under /ui (the UI publishes no OpenAPI document: one is
  made from its FastAPI app, each POST given the form fields it reads and the session's CSRF
  token, and fuzzed with a signed-in session's cookie). Counts of operations, cases, 5xx and
  failures per check, read from schemathesis's JUnit report.
- ``hostile``: ~200 hostile requests (NUL bytes and traversal in ids and report paths, huge and
  non-finite numbers, wrong types, deep JSON, oversized bodies, odd unicode); after each, the
  model must give the same answer as before it. Counts of statuses and of wrong answers.
- ``flood``: 200 wrong API keys and 200 wrong sign-ins from one address, then the right key.
- ``sigterm``: kept-alive clients across SIGTERM of ``shipyard serve``, ``--trials`` times.

    python benchmarks/probe.py --titanic DIR --shop DIR [--only hostile,flood] [--out FILE]

Each part starts its own servers, so the wrong-key counts of one do not reach another.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from harness import port, shipyard_serve, wait

from shipyard.ui.session import COOKIE, sign_in_token

KEY = "probe-key-" + "x" * 24
AUTH = {"Authorization": f"Bearer {KEY}"}
TIMEOUT_S = 300.0
ROW = {"pclass": "1st", "sex": "female", "age": 29.0, "sibsp": 0, "parch": 0}
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
PARTS = ("schemathesis", "hostile", "flood", "sigterm")


@contextmanager
def serving(root: Path, log: Path) -> Iterator[str]:
    """The base URL of ``shipyard serve`` for ``root`` (its models loaded), stopped after."""
    on = port()
    process = shipyard_serve(root, on, KEY, log)
    base = f"http://127.0.0.1:{on}"
    try:
        wait(f"{base}/ready", process, AUTH)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT_S)


def signed_in(base: str) -> tuple[httpx.Client, str]:
    """A client signed in to the UI at ``base`` (its session cookie kept) and the session's
    CSRF token, read from a page's form as a browser would have it."""
    client = httpx.Client(timeout=TIMEOUT_S)
    form = client.get(f"{base}/ui/login")
    done = client.post(f"{base}/ui/login", data={"key": KEY, "csrf_token": sign_in_token(form.text)})
    if done.status_code != 303:
        raise SystemExit(f"sign-in answered {done.status_code}: {done.text[:300]}")
    page = client.get(f"{base}/ui/")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if found is None:
        raise SystemExit("no CSRF token on the signed-in overview page")
    return client, found[1]


# ---- schemathesis -------------------------------------------------------------------------

FORM_FIELDS = {"version", "reason", "challenger", "champion", "as_new_normal"}
"""The form fields the UI's POST routes read (besides ``csrf_token``)."""


UI_STATUSES = {"400": "the address or form does not fit", "403": "no CSRF token, or a viewer",
               "404": "no such thing", "409": "refused (e.g. a promotion)",
               "413": "body over the limit"}
"""The answers the UI's pages give besides their page (or redirect), each an HTML error page
(shipyard.ui.app; statuses from shipyard.errors): what its generated document lacks."""


def ui_schema(root: Path, base: str, csrf_token: str) -> dict[str, Any]:
    """An OpenAPI document of the UI's routes, from its FastAPI app: each POST takes a form
    with the fields the routes read and the session's CSRF token (else every POST is a 403
    and nothing behind the token is fuzzed), and every route documents its error pages."""
    from shipyard.serving.auth import ApiKeys
    from shipyard.ui.app import create_ui

    schema = create_ui(root, ApiKeys([KEY]), default_env="dev").openapi()
    schema["servers"] = [{"url": f"{base}/ui"}]
    properties: dict[str, dict[str, Any]] = {name: {"type": "string"} for name in FORM_FIELDS}
    properties["csrf_token"] = {"type": "string", "enum": [csrf_token]}
    html = {"text/html": {"schema": {"type": "string"}}}
    env = {"name": "env", "in": "query", "required": False, "schema": {"type": "string"}}
    for operations in schema["paths"].values():
        for method, operation in operations.items():
            # Every page reads ?env= (shipyard.ui.session.selected_env) without declaring it:
            # declared here, the pages without parameters are fuzzed too.
            parameters = operation.setdefault("parameters", [])
            if not any(p["name"] == "env" for p in parameters):
                parameters.append(env)
            operation["responses"].update(
                {status: {"description": why, "content": html}
                 for status, why in UI_STATUSES.items()})
            if method == "post":
                operation["responses"]["303"] = {"description": "done: back to the page"}
                operation["requestBody"] = {"required": True, "content": {
                    "application/x-www-form-urlencoded": {"schema": {
                        "type": "object", "properties": properties,
                        "required": ["csrf_token"]}}}}
    return schema


def run_schemathesis(name: str, location: str, headers: dict[str, str], examples: int,
                     folder: Path, *extra: str) -> dict[str, Any]:
    """Counts of one ``schemathesis run`` with every check, from its NDJSON events: cases and
    statuses per operation, checks run and failed per check (a 5xx fails
    ``not_a_server_error``), and the cases that failed."""
    events = folder / f"{name}.ndjson"
    args = [str(SCHEMATHESIS), "run", location, "--checks", "all", "--max-examples",
            str(examples), "--request-timeout", str(TIMEOUT_S), "--report", "ndjson",
            "--report-ndjson-path", str(events), "--seed", "22", "--continue-on-failure", *extra]
    for header, value in headers.items():
        args += ["-H", f"{header}: {value}"]
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, cwd=folder, check=False)
    (folder / f"{name}.txt").write_text(done.stdout + done.stderr)
    cases: Counter[str] = Counter()
    statuses: dict[str, Counter[str]] = {}
    checks: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    failing: set[str] = set()
    for line in events.read_text().splitlines() if events.exists() else []:
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished or "cases" not in finished["recorder"]:
            continue
        recorder = finished["recorder"]
        label = recorder["label"]
        cases[label] += len(recorder["cases"])
        for interaction in recorder["interactions"].values():
            status = str((interaction.get("response") or {}).get("status_code", "no answer"))
            statuses.setdefault(label, Counter())[status] += 1
        for case_id, results in recorder["checks"].items():
            for check in results:
                checks[check["name"]] += 1
                if check["status"] == "failure":
                    failed[check["name"]] += 1
                    value = recorder["cases"].get(case_id, {}).get("value", {})
                    failing.add(f"{check['name']}: {value.get('method')} {value.get('path')} "
                                f"{json.dumps(value.get('path_parameters') or {})} "
                                f"{json.dumps(value.get('query') or {})}")
    return {"exit": done.returncode, "seconds": round(time.monotonic() - started),
            "operations": len(cases), "cases": sum(cases.values()),
            "cases_per_operation": dict(cases), "fewest_cases": min(cases.values(), default=0),
            "statuses": {label: dict(c) for label, c in statuses.items()},
            "server_errors": sum(n for c in statuses.values() for s, n in c.items()
                                 if s.startswith("5")),
            "checks_run": dict(checks), "checks_failed": dict(failed),
            "failing_cases": sorted(failing)[:60],
            "summary": done.stdout.strip().splitlines()[-8:]}


def schemathesis(titanic: Path, shop: Path, examples: int, folder: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, root in (("titanic", titanic), ("shop", shop)):
        with serving(root, folder / f"serve-{name}.log") as base:
            results[f"{name}_api"] = run_schemathesis(
                f"{name}-api", f"{base}/openapi.json", AUTH, examples, folder,
                "--exclude-path", "/v1/pipelines/{name}/runs")
            client, token = signed_in(base)
            schema = folder / f"{name}-ui.json"
            schema.write_text(json.dumps(ui_schema(root, base, token)))
            results[f"{name}_ui"] = run_schemathesis(
                f"{name}-ui", str(schema), {"Cookie": f"{COOKIE}={client.cookies[COOKIE]}"},
                examples, folder, "--url", f"{base}/ui")
    return results


# ---- hostile inputs -----------------------------------------------------------------------

BAD_VALUES = ['"\\u0000"', '"a\\u0000b"', '"\\ud800"', '"\\udfff"', '"\\u202e1st"', '"😀"',
              '"' + "x" * 100_000 + '"', "1e308", "-1e308", "1e309", "NaN", "Infinity",
              "-Infinity", "1" + "0" * 400, "-0", "4000000000", "true", "null", "[]", "{}",
              '"1"', "1.5e-320"]


def predict_raw(rows_json: str) -> tuple[str, str, bytes, dict[str, str]]:
    return ("POST", "/v1/models/titanic/predict", f'{{"rows": [{rows_json}]}}'.encode(),
            {"content-type": "application/json"})


def row_with(field: str, raw: str) -> str:
    others = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in ROW.items() if k != field)
    return f'{{{others}, "{field}": {raw}}}'


def titanic_hostile() -> list[tuple[str, str, bytes, dict[str, str]]]:
    """Requests to the Titanic server: (method, path, body, headers)."""
    json_type = {"content-type": "application/json"}
    cases = [predict_raw(row_with(field, raw)) for field in ROW for raw in BAD_VALUES]
    cases += [predict_raw(row_with("sex", '"female", "sex": "male"')),
              predict_raw(row_with("pclass", '"1st", "\\u0000": 1')),
              predict_raw("{}"), predict_raw(json.dumps({"rows": ROW}))]
    predict = "/v1/models/titanic/predict"
    cases += [("POST", predict, body, json_type) for body in (
        b"", b"{", b"null", b"[]", b'{"rows": []}', b'{"rows": null}', b'{"rows": "x"}',
        b"[" * 100_000 + b"]" * 100_000, b'{"rows": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"rows": [' + b'{"a": ' * 3000 + b"1" + b"}" * 3000 + b"]}",
        json.dumps({"rows": [ROW] * 200_000}).encode(),  # ~14 MB
        b"\xff\xfe\x00", "{\"rows\": [\"\u0000\"]}".encode())]
    cases += [("POST", predict, json.dumps({"rows": [ROW]}).encode(), headers) for headers in (
        {"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "application/json; charset=utf-16"},
        {"content-type": "application/json", "content-encoding": "gzip"},
        {"content-type": "application/json", "x-request-id": "\u0000" * 10},
        {"content-type": "application/json", "x-request-id": "a" * 10_000})]
    for path in ("/v1/models/titanic%00/predict", "/v1/models/..%2f..%2fetc/predict",
                 "/v1/models/" + "a" * 10_000 + "/predict", "/v1/models/%F0%9F%98%80/predict",
                 "/v1/models/titanic/versions/99999999999999999999999",
                 "/v1/models/titanic/versions/-1", "/v1/models/titanic/versions/a%00b",
                 "/v1/pipelines/train/runs/a%00b", "/v1/pipelines/%00/runs",
                 "/v1/pipelines/train/runs/" + "9" * 40, "/v1/models/titanic'/versions",
                 "/v1/models?limit=1e308", "/v1/models?x=%00"):
        cases.append(("GET", path, b"", {}))
    cases += [("POST", "/v1/pipelines/%00/runs", b"{}", json_type),
              ("POST", "/v1/pipelines/nosuch/runs", b'{"params": {"a": "\\u0000"}}', json_type)]
    return cases


def shop_hostile() -> list[tuple[str, str, bytes, dict[str, str]]]:
    """Requests to the recommender server's API."""
    ids = ["C00%0042", "%00", "..%2f..%2fetc%2fpasswd", "a" * 60_000, "%F0%9F%98%80",
           "%ED%A0%80", "C'; DROP TABLE x;--", "99999999999999999999999999", "-1", "%20",
           "C0001?top=1e308", "C0001?top=-1", "C0001?top=%00", "C0001?top=99999999999999999999",
           "C0001?top=NaN"]
    return [("GET", f"/v1/recommendations/{i}", b"", {}) for i in ids]


def ui_hostile(token: str) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """Requests to the UI, signed in (the client adds the session cookie; the forms carry
    the session's CSRF ``token``, so they reach the routes behind it)."""
    paths = ["/ui/reports/../../shipyard.yaml", "/ui/reports/%2e%2e/%2e%2e/shipyard.yaml",
             "/ui/reports/..%2f..%2fshipyard.yaml", "/ui/reports//etc/passwd",
             "/ui/reports/%2fetc%2fpasswd", "/ui/reports/a%00b.html", "/ui/reports/" + "a" * 5000,
             "/ui/reports/....//....//etc/passwd", "/ui/reports/%252e%252e/shipyard.yaml",
             "/ui/reports/..\\..\\shipyard.yaml", "/ui/runs/a%00b", "/ui/runs/" + "9" * 40,
             "/ui/models/x%00", "/ui/models/a'b", "/ui/models/a\"b", "/ui/models/%F0%9F%98%80",
             "/ui/models/titanic?challenger=99999999999999999999&champion=1",
             "/ui/models/titanic?challenger=a%00", "/ui/lake/batches/99999999999999999999",
             "/ui/lake/batches/-1", "/ui/lake/tables/raw/%00", "/ui/lake/tables/../../x",
             "/ui/monitoring?model=nosuchmodel", "/ui/monitoring/a'b", "/ui/monitoring/%00",
             "/ui/?env=%00", "/ui/?env=../../x", "/ui/recommendations?customer=%00",
             "/ui/login?next=//evil.example", "/ui/login?next=%00"]
    cases: list[tuple[str, str, bytes, dict[str, str]]] = [("GET", p, b"", {}) for p in paths]
    form = {"content-type": "application/x-www-form-urlencoded"}
    csrf = f"csrf_token={token}&".encode()
    cases += [("POST", path, csrf + body, form) for path, body in (
        ("/ui/models/titanic/promote", b"version=99999999999999999999&reason=x"),
        ("/ui/models/titanic/promote", b"version=%00&reason=%00"),
        ("/ui/models/titanic/promote", b"version=-1&reason=" + b"x" * 60_000),
        ("/ui/models/a'b/rollback", b"reason=x"),
        ("/ui/models/titanic/compare", b"challenger=%00&champion=1"),
        ("/ui/models/titanic/compare", b"challenger=1&champion=99999999999999999999"),
        ("/ui/lake/batches/99999999999999999999/accept", b"reason=x"),
        ("/ui/lake/batches/1/accept", b"reason=%00"),
        ("/ui/models/titanic/promote", b"a=" * 3_000_000))]
    cases += [("POST", "/ui/login", b"key=" + b"x" * 5_000_000, form),
              ("POST", "/ui/models/titanic/promote", b"version=1&reason=x", form)]
    return cases


def hostile(titanic: Path, shop: Path, folder: Path) -> dict[str, Any]:
    """Each hostile request, then the model's answer compared with the one before them all."""
    statuses: Counter[str] = Counter()
    wrong_after: list[str] = []
    server_errors: list[str] = []
    by_request: list[str] = []
    with serving(titanic, folder / "hostile-titanic.log") as t_base, \
            serving(shop, folder / "hostile-shop.log") as s_base:
        api = httpx.Client(timeout=TIMEOUT_S, headers=AUTH)
        customer_id = _a_customer(shop)

        def answers() -> tuple[Any, Any]:
            titanic_answer = api.post(f"{t_base}/v1/models/titanic/predict",
                                      json={"rows": [ROW]})
            shop_answer = api.get(f"{s_base}/v1/recommendations/{customer_id}")
            return ((titanic_answer.status_code, titanic_answer.json().get("predictions")),
                    (shop_answer.status_code, shop_answer.json()))

        expected = answers()
        ui, token = signed_in(t_base)
        groups: list[tuple[str, httpx.Client, list[tuple[str, str, bytes, dict[str, str]]]]] = [
            (t_base, api, titanic_hostile()), (s_base, api, shop_hostile()),
            (t_base, ui, ui_hostile(token))]
        for base, client, cases in groups:
            for method, path, body, headers in cases:
                label = f"{method} {path[:80]} body={body[:60]!r}{'…' if len(body) > 60 else ''}"
                try:
                    answer = client.request(method, base + path, content=body or None,
                                            headers=headers)
                    status = str(answer.status_code)
                    if answer.status_code >= 500:
                        server_errors.append(f"{label} -> {status}: {answer.text[:200]}")
                except httpx.HTTPError as error:
                    status = type(error).__name__
                statuses[status] += 1
                by_request.append(f"{status} {label}")
                if answers() != expected:
                    wrong_after.append(label)
    return {"requests": sum(statuses.values()), "statuses": dict(sorted(statuses.items())),
            "server_errors": server_errors, "answers_compared": expected,
            "model_answer_changed_after": wrong_after,
            "by_request": by_request}


def _a_customer(shop: Path) -> str:
    import sqlite3

    with sqlite3.connect(shop / ".shipyard" / "dev" / "results.db") as db:
        return str(db.execute("select customer_id from shipyard_recommendations limit 1")
                   .fetchone()[0])


# ---- sign-in flood ------------------------------------------------------------------------

def flood(titanic: Path, folder: Path, attempts: int) -> dict[str, Any]:
    """``attempts`` wrong API keys from 127.0.0.1, then the right key on the API and on the
    sign-in form; and on a fresh server (the count is per process and shared by both), the
    same with ``attempts`` wrong sign-ins first."""
    result: dict[str, Any] = {}
    for first, then in (("api", "ui"), ("ui", "api")):
        with serving(titanic, folder / f"flood-{first}.log") as base:
            client = httpx.Client(timeout=TIMEOUT_S)
            attempt = _wrong_key if first == "api" else _wrong_sign_in
            started = time.monotonic()
            seen = [attempt(client, base, f"wrong-{i}") for i in range(attempts)]
            result[first] = _flood_counts(seen, time.monotonic() - started)
            result[first]["right_key_then"] = {
                first: _right(first, client, base), then: _right(then, client, base)}
    return result


def _wrong_key(client: httpx.Client, base: str, key: str) -> tuple[int, str | None]:
    answer = client.post(f"{base}/v1/models/titanic/predict", json={"rows": [ROW]},
                         headers={"Authorization": f"Bearer {key}"})
    return answer.status_code, answer.headers.get("retry-after")


def _wrong_sign_in(client: httpx.Client, base: str, key: str) -> tuple[int, str | None]:
    form = client.get(f"{base}/ui/login")
    answer = client.post(f"{base}/ui/login",
                         data={"key": key, "csrf_token": sign_in_token(form.text)})
    return answer.status_code, answer.headers.get("retry-after")


def _right(where: str, client: httpx.Client, base: str) -> int:
    """The status of the right key on the API (200) or the sign-in form (303)."""
    if where == "api":
        return client.post(f"{base}/v1/models/titanic/predict", json={"rows": [ROW]},
                           headers=AUTH).status_code
    form = client.get(f"{base}/ui/login")
    return client.post(f"{base}/ui/login", data={
        "key": KEY, "csrf_token": sign_in_token(form.text)}).status_code


def _flood_counts(seen: list[tuple[int, str | None]], seconds: float) -> dict[str, Any]:
    statuses = Counter(str(status) for status, _ in seen)
    first_429 = next((i for i, (status, _) in enumerate(seen) if status == 429), None)
    return {"statuses": dict(statuses), "first_429_at": first_429,
            "429_with_retry_after": sum(1 for s, r in seen if s == 429 and r),
            "retry_after_values": sorted({r for s, r in seen if s == 429 and r}, key=int),
            "seconds": round(seconds, 2)}


# ---- SIGTERM ------------------------------------------------------------------------------

def sigterm(titanic: Path, folder: Path, trials: int, clients: int) -> dict[str, Any]:
    """``clients`` kept-alive clients predicting across SIGTERM, ``trials`` times: requests
    answered, refused (connection refused: never sent), and failed (anything else)."""
    runs = []
    for trial in range(trials):
        on = port()
        base = f"http://127.0.0.1:{on}"
        log = folder / f"sigterm-{trial}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "shipyard", "serve", "--port", str(on), "--shutdown-grace",
             "60"], cwd=titanic, env={**os.environ, "SHIPYARD_API_KEYS": KEY},
            stdout=log.open("wb"), stderr=subprocess.STDOUT)
        wait(f"{base}/ready", process, AUTH)
        answered = [0] * clients
        failed: list[str] = []
        threads = [threading.Thread(target=_kept_alive, args=(base, answered, failed, i))
                   for i in range(clients)]
        for thread in threads:
            thread.start()
        _until(partial(_all_at_least, answered, 20), 300)
        process.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(TIMEOUT_S)
        code = process.wait(timeout=120)
        runs.append({"answered": sum(answered), "failed": len(failed), "exit": code,
                     "failures": failed[:5]})
    return {"trials": runs, "failed_total": sum(r["failed"] for r in runs),
            "answered_total": sum(r["answered"] for r in runs)}


def _kept_alive(base: str, answered: list[int], failed: list[str], index: int) -> None:
    limits = httpx.Limits(max_keepalive_connections=1, max_connections=1)
    with httpx.Client(timeout=TIMEOUT_S, limits=limits) as client:
        for _ in range(3000):
            try:
                answer = client.post(f"{base}/v1/models/titanic/predict",
                                     json={"rows": [ROW] * 20}, headers=AUTH)
            except httpx.ConnectError:
                return
            except httpx.TransportError as error:
                failed.append(repr(error))
                continue
            answered[index] += 1
            if answer.status_code != 200:
                failed.append(f"{answer.status_code}: {answer.text[:200]}")


def _all_at_least(counts: list[int], least: int) -> bool:
    return min(counts) >= least


def _until(condition: Callable[[], bool], bound_s: float) -> None:
    deadline = time.monotonic() + bound_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"not so within {bound_s} s")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titanic", type=Path, required=True,
                        help="a trained Titanic example project, version 1 in production")
    parser.add_argument("--shop", type=Path, required=True,
                        help="a recommender example project, trained, promoted, published")
    parser.add_argument("--only", default=",".join(PARTS), help=f"of {', '.join(PARTS)}")
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/probe.json"))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="shipyard-probe-"))
    result: dict[str, Any] = {"uptime_before": _uptime(), "work": str(folder)}
    titanic, shop = args.titanic.resolve(), args.shop.resolve()
    for part in args.only.split(","):
        print(f"probe: {part} (outputs in {folder})", flush=True)
        if part == "schemathesis":
            result[part] = schemathesis(titanic, shop, args.examples, folder)
        elif part == "hostile":
            result[part] = hostile(titanic, shop, folder)
        elif part == "flood":
            result[part] = flood(titanic, folder, args.attempts)
        elif part == "sigterm":
            result[part] = sigterm(titanic, folder, args.trials, args.clients)
        else:
            raise SystemExit(f"unknown part {part!r}: one of {', '.join(PARTS)}")
        result[f"uptime_after_{part}"] = _uptime()
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


if __name__ == "__main__":
    main()
