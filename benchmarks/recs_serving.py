"""Benchmark: ``GET /v1/recommendations/{id}`` of ``shipyard serve`` vs a lean sqlite3 handler.

    python benchmarks/recs_serving.py [--runs 3] [--seconds 10] [--customers 10000]
                                      [--out benchmarks/results/recs_serving.json]

A project's results database (SQLite, the default ``results_db``) gets one recommendation set
of ``--customers`` customers × 10 products, written by ``ResultsStore`` as ``shipyard
recommend`` writes it. Two servers then answer from that same file on 127.0.0.1, one uvicorn
worker each with the same settings (``log_level="warning"``, no access log, uvicorn's default
loop and HTTP parser):

* ``shipyard``: ``shipyard serve`` with the project's defaults — API key checked, limits,
  request ids, Prometheus counters, the served recommendations logged to the lake;
* ``lean``: the handler a user would write without Shipyard — a plain FastAPI route (a ``def``,
  so it runs in the thread pool) on the stdlib ``sqlite3`` module with one connection per
  thread (``threading.local``, opened on the thread's first request and kept), reading the
  same row the same way: the same three-table join through the current-set pointer on the
  same primary-key index, the JSON lists decoded into the same answer; no key, no request id,
  no metrics, no log, no limits.

``wrk`` (Debian's) sends GET requests at 1 and 16 connections, ``--seconds`` per measurement,
alternating servers; the customer of each request cycles through 1,000 of the set's
customers, the same sequence for both, after a warm-up (each of those customers asked once,
then 3 s of ``wrk``): the hot rows a long-running server has seen. Medians of ``--runs``
rounds, with the minimum and maximum; ``recs_ratio_vs_lean_c16`` and ``_c1`` are Shipyard's
requests/s ÷ the lean handler's. Each server's CPU time per request (from ``/proc``, user +
system, over each measurement) is reported too: on a shared machine requests/s swing with the
neighbours' load, the CPU a request costs much less.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
from pathlib import Path

import harness
import httpx

RESULTS = Path(__file__).parent / "results" / "recs_serving.json"
LEVELS = (1, 16)
PROJECT = "project: recsbench\nenvironments:\n  dev: {lake: lake}\n"
LEAN = '''\
"""The lean handler: stdlib sqlite3, one connection per thread, one query, the same answer."""
import json
import os
import sqlite3
import threading

from fastapi import FastAPI, HTTPException

PATH = os.environ["RESULTS_PATH"]
QUERY = (
    "SELECT r.products, r.scores, s.version FROM shipyard_recommendations r "
    "JOIN shipyard_recommendations_current c ON c.set_id = r.set_id "
    "JOIN shipyard_recommendation_sets s ON s.id = r.set_id "
    "WHERE c.model = ? AND r.customer_id = ?")
local = threading.local()
app = FastAPI()


def connection() -> sqlite3.Connection:
    """This thread's connection, opened on its first request and kept."""
    if not hasattr(local, "conn"):
        local.conn = sqlite3.connect(PATH)
    return local.conn


@app.get("/v1/recommendations/{customer_id}")
def recommendations(customer_id: str, k: int = 10) -> dict:
    row = connection().execute(QUERY, ("recommender", customer_id)).fetchone()
    if row is None:
        raise HTTPException(404, f"no recommendations for customer {customer_id!r}")
    products, scores, version = row
    items = [{"product_id": p, "score": s}
             for p, s in zip(json.loads(products), json.loads(scores))][:k]
    return {"customer_id": customer_id, "model": "recommender", "version": version,
            "source": "results", "items": items}
'''


def _script(folder: Path, name: str, customers: list[str], headers: dict[str, str]) -> Path:
    """A wrk script cycling through ``customers`` (each thread from its own offset)."""
    ids = ", ".join(json.dumps(c) for c in customers)
    return harness.wrk_script(folder, name, [
        f"local ids = {{{ids}}}", "local i = 0", "request = function()", "  i = i % #ids + 1",
        '  return wrk.format("GET", "/v1/recommendations/" .. ids[i])', "end"], headers)


def _results(root: Path, customers: int) -> tuple[str, list[str]]:
    """Write the set into the project's results DB; its URL and some of its customers."""
    import numpy as np

    from shipyard.batch.results import ResultsStore
    from shipyard.project import Project

    project = Project.open(root, "dev")
    rng = np.random.default_rng(0)
    ids = [f"C{i:06d}" for i in range(customers)]
    products = rng.integers(0, 20_000, (customers, 10))
    scores = np.sort(rng.random((customers, 10)), axis=1)[:, ::-1]
    rows = [(c, [f"P{p:05d}" for p in ps], s.tolist())
            for c, ps, s in zip(ids, products.tolist(), scores, strict=True)]
    ResultsStore.of(project).write("recommender", 1, 10, [rows])
    chosen = rng.choice(customers, size=min(1000, customers), replace=False)
    return project.results_url, [ids[i] for i in chosen]


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def paired(samples: harness.Samples) -> dict[str, list[float]]:
    """Shipyard ÷ lean requests/s of each round (the two measured back to back)."""
    return {f"c{c}": [round(ours["rps"] / lean["rps"], 3) for ours, lean in zip(
        samples["shipyard"][c], samples["lean"][c], strict=True)] for c in LEVELS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    harness.require_wrk()
    key = secrets.token_urlsafe(24)
    auth = {"Authorization": f"Bearer {key}"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        (root / "shipyard.yaml").write_text(PROJECT)
        url, customers = _results(root, args.customers)
        (Path(tmp) / "lean.py").write_text(LEAN)
        ports = {"shipyard": harness.port(), "lean": harness.port()}
        servers = {
            "shipyard": harness.shipyard_serve(root, ports["shipyard"], key,
                                               Path(tmp) / "shipyard.log"),
            "lean": harness.start(
                [sys.executable, "-m", "uvicorn", "lean:app", "--host", "127.0.0.1",
                 "--port", str(ports["lean"]), "--log-level", "warning", "--no-access-log"],
                cwd=tmp, env={"RESULTS_PATH": url.removeprefix("sqlite:///")},
                log=Path(tmp) / "lean.log"),
        }
        base = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
        headers = {"shipyard": auth, "lean": {}}
        try:
            # /health, not /ready: the project serves no model, only the published set, and
            # /ready is a 503 where there is no model to serve
            # (up to 10 min: on the shared 2-core machine at a load of 20+, importing the
            # server took over 2)
            harness.wait(f"{base['shipyard']}/health", servers["shipyard"], auth, 600)
            harness.wait(f"{base['lean']}/docs", servers["lean"], {}, 600)
            scripts = {n: _script(Path(tmp), n, customers, headers[n]) for n in servers}
            answers = {}
            for name in servers:  # the same answer from both before anything is timed
                answers[name] = harness.check(name, httpx.get(
                    f"{base[name]}/v1/recommendations/{customers[0]}",
                    headers=headers[name])).json()["items"]
                with httpx.Client(headers=headers[name]) as client:  # warm-up: each customer
                    for customer in customers:                        # asked once, then wrk
                        harness.check(name, client.get(
                            f"{base[name]}/v1/recommendations/{customer}"))
                harness.wrk(base[name], scripts[name], 16, 3)
            if answers["shipyard"] != answers["lean"]:
                raise SystemExit(f"the servers disagree: {answers}")

            def measure(name: str, connections: int) -> dict[str, float]:
                """wrk's figures and the server's CPU time per request over them."""
                used = _cpu_s(servers[name].pid)
                figures = harness.wrk(base[name], scripts[name], connections, args.seconds)
                figures["cpu_ms_per_request"] = round(
                    1000 * (_cpu_s(servers[name].pid) - used)
                    / max(1.0, figures["rps"] * args.seconds), 4)
                return figures

            samples = harness.rounds(
                args.runs, dict.fromkeys(servers, LEVELS), measure, digits=2,
                note=lambda figures: f"  CPU {figures['cpu_ms_per_request']:.3f} ms/request")
        finally:
            harness.stop(servers.values())

    def summary(name: str, connections: int) -> dict[str, float]:
        runs = samples[name][connections]
        rps = [r["rps"] for r in runs]
        return harness.medians(runs, ("rps", "p50_ms", "p99_ms", "cpu_ms_per_request"), 4) | {
            "rps_min": min(rps), "rps_max": max(rps),
            "errors": sum(int(r["errors"]) for r in runs)}

    figures = {name: {f"c{c}": summary(name, c) for c in LEVELS} for name in servers}

    def ratio(c: int) -> float:
        return round(figures["shipyard"][f"c{c}"]["rps"] / figures["lean"][f"c{c}"]["rps"], 3)

    def spread(c: int) -> list[float]:
        ours, lean = figures["shipyard"][f"c{c}"], figures["lean"][f"c{c}"]
        return harness.ratio_spread((ours["rps_min"], ours["rps_max"]),
                                    (lean["rps_min"], lean["rps_max"]))

    result = {
        **harness.header("recs_serving"),
        "load_generator": "wrk", "seconds": args.seconds, "runs": args.runs,
        "customers": args.customers, "database": "SQLite (the default results_db)",
        **figures,
        "recs_ratio_vs_lean_c1": ratio(1),
        "recs_ratio_vs_lean_c16": ratio(16),
        "ratio_spread": {"c1": spread(1), "c16": spread(16)},
        "paired_ratios": paired(samples),
        "cpu_per_request_ratio_vs_lean_c16": round(
            figures["shipyard"]["c16"]["cpu_ms_per_request"]
            / figures["lean"]["c16"]["cpu_ms_per_request"], 3),
        "targets": {"recs_ratio_vs_lean_c16": ">= 1"},
        "samples": samples,
    }
    harness.write(result, args.out)


if __name__ == "__main__":
    main()
