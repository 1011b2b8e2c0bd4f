"""Benchmark: server time of each web UI page on the demo data, beside MLflow's own server.

    python benchmarks/ui.py [--project DIR] [--requests 15] [--out benchmarks/results/ui.json]

The UI runs as a user runs it (``shipyard ui``, uvicorn, one process) on the ``make demo``
project (``--project``, default /tmp/shipyard-demo; built here in a temporary folder when it
is missing: the recommender example ingested twice, trained, promoted, recommended, and a
drifted month left in quarantine). Each page is requested ``--requests`` times after two
warm-up requests, signed in like a browser; the figures are medians:

* ``server_ms``: the time the server took, from its ``Server-Timing`` header (request in →
  page rendered), which is what the issue bounds at 200 ms per page;
* ``round_trip_ms``: the same requests timed by the client (loopback HTTP included).

The tool a user would otherwise pick for runs is MLflow's UI, a browser app fed by its
server's JSON API: ``mlflow server`` on the same tracking database answers the calls its
runs table and run page make (``runs/search`` of the project's experiments, ``runs/get`` of
the latest run), timed the same way (round trip; it sends no Server-Timing). MLflow's figures
cover data only — its browser then renders the page — while Shipyard's include the rendered
HTML.

Pages are listed in :data:`PAGES_TO_TIME`; ``{batch}``, ``{run}``, ``{model}`` and
``{customer}`` are filled from the project (see :func:`placeholders`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

RESULTS = Path(__file__).parent / "results" / "ui.json"
BIN = Path(sys.executable).parent
DEMO = Path("/tmp/shipyard-demo")  # noqa: S108 - where `make demo` builds it (Makefile DEMO)

PAGES_TO_TIME: list[tuple[str, str]] = [
    ("overview", "/ui/"),
    ("lake", "/ui/lake"),
    ("lake_table", "/ui/lake/tables/raw/order_lines"),
    ("lake_batch_report", "/ui/lake/batches/{batch}"),
    ("runs", "/ui/runs"),
    ("run", "/ui/runs/{run}"),
    ("models", "/ui/models/{model}"),
    ("monitoring", "/ui/monitoring"),
    ("monitoring_model", "/ui/monitoring/{model}"),
    ("recommendations_search", "/ui/recommendations?q=C00"),
    ("recommendations_customer", "/ui/recommendations?customer={customer}"),
]
"""(name, path) of each page timed; the second UI helper adds its pages' lines here."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"{what} exited {process.returncode} before answering")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not answer {url}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started in its own session, and everything it started (MLflow's server
    starts job consumers besides its web workers)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass


def build_demo(root: Path) -> None:
    """What ``make demo`` does, plus a drifted month left in quarantine."""
    shipyard = str(BIN / "shipyard")

    def sh(*argv: str, ok: tuple[int, ...] = (0,)) -> None:
        done = subprocess.run(argv, cwd=root if root.exists() else None, capture_output=True,
                              text=True, check=False)
        if done.returncode not in ok:
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")

    sh(shipyard, "example", "recommender", str(root))
    sh(shipyard, "ingest")
    sh(sys.executable, "erp.py", "next-month")
    sh(shipyard, "ingest")
    sh(shipyard, "run", "train")
    sh(shipyard, "models", "promote", "recommender", "1", "--reason", "benchmark")
    sh(shipyard, "recommend", "--top", "10")
    sh(sys.executable, "erp.py", "next-month", "--drift")
    sh(shipyard, "ingest", ok=(3,))  # rejected: a batch waits in quarantine


def placeholders(root: Path) -> dict[str, str]:
    """Values for the paths: the newest batch with a report (the quarantined one when there
    is one), the latest run, the first model, and a customer with recommendations."""
    state = root / ".shipyard" / "dev"
    with sqlite3.connect(state / "metadata.db") as con:
        batch = con.execute("SELECT id FROM shipyard_batches WHERE report_path IS NOT NULL "
                            "ORDER BY status = 'rejected' DESC, id DESC LIMIT 1").fetchone()
        run = con.execute("SELECT id FROM shipyard_runs ORDER BY started_at DESC LIMIT 1").fetchone()
    customer = None
    if (state / "results.db").exists():
        with sqlite3.connect(state / "results.db") as con:
            customer = con.execute("SELECT customer_id FROM shipyard_recommendations LIMIT 1").fetchone()
    return {"batch": str(batch[0]) if batch else "1", "run": run[0] if run else "latest",
            "model": "recommender", "customer": customer[0] if customer else ""}


def _time(request: Callable[[], httpx.Response], n: int) -> tuple[list[float], list[float]]:
    """(server ms from Server-Timing, round-trip ms) of ``n`` requests after two warm-ups."""
    for _ in range(2):
        request().raise_for_status()
    server, trip = [], []
    for _ in range(n):
        started = time.perf_counter()
        answer = request()
        trip.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        timing = re.search(r"dur=([\d.]+)", answer.headers.get("server-timing", ""))
        if timing:
            server.append(float(timing[1]))
    return server, trip


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def time_ui(root: Path, n: int) -> dict[str, dict[str, float | None]]:
    from shipyard.ui.session import sign_in_token

    key = secrets.token_urlsafe(24)
    port = _free_port()
    env = {**os.environ, "SHIPYARD_API_KEYS": key}
    server = subprocess.Popen([str(BIN / "shipyard"), "ui", "--port", str(port)], cwd=root,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/health", server, "shipyard ui")
        values = placeholders(root)
        figures = {}
        with httpx.Client(base_url=base, timeout=60) as client:
            token = sign_in_token(client.get("/ui/login").text)
            signed = client.post("/ui/login", data={"key": key, "csrf_token": token})
            if signed.status_code != 303:
                raise SystemExit(f"signing in answered {signed.status_code}")
            for name, path in PAGES_TO_TIME:
                url = path.format(**values)
                ms, trip = _time(lambda url=url: client.get(url), n)  # type: ignore[misc]
                figures[name] = {"path": url, "server_ms": _median(ms),
                                 "round_trip_ms": _median(trip), "max_server_ms": max(ms, default=None)}
                print(f"{name:>22}: {figures[name]['server_ms']} ms server, "
                      f"{figures[name]['round_trip_ms']} ms round trip  ({url})")
        return figures
    finally:
        _stop(server)


def time_mlflow(root: Path, n: int) -> dict[str, dict[str, float | None]]:
    """MLflow's server on the same tracking database: the JSON its UI's runs table and run
    page ask for."""
    port = _free_port()
    store = f"sqlite:///{root / '.shipyard' / 'dev' / 'mlflow.db'}"
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen([str(BIN / "mlflow"), "server", "--backend-store-uri", store,
                                   "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                                  cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(f"{base}/health", server, "mlflow server")
            with httpx.Client(base_url=base, timeout=60) as client:
                found = client.post("/ajax-api/2.0/mlflow/experiments/search",
                                    json={"max_results": 100}).json()
                ids = [e["experiment_id"] for e in found.get("experiments", [])]
                search = {"experiment_ids": ids, "max_results": 50,
                          "order_by": ["attributes.start_time DESC"]}
                runs = client.post("/ajax-api/2.0/mlflow/runs/search", json=search).json()
                run_id = runs["runs"][0]["info"]["run_id"]
                figures = {}
                for name, request in (
                        ("runs_search", lambda: client.post("/ajax-api/2.0/mlflow/runs/search",
                                                            json=search)),
                        ("run_get", lambda: client.get("/ajax-api/2.0/mlflow/runs/get",
                                                       params={"run_id": run_id}))):
                    _, trip = _time(request, n)
                    figures[name] = {"round_trip_ms": _median(trip)}
                    print(f"{'mlflow ' + name:>22}: {figures[name]['round_trip_ms']} ms round trip")
                return figures
        finally:
            _stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=DEMO)
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-mlflow", action="store_true", help="Skip MLflow's server.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.project.resolve()
        built = not (root / "shipyard.yaml").exists()
        if built:
            root = Path(tmp) / "shop"
            print(f"{args.project} has no project: building the demo in {root} (a few minutes)")
            build_demo(root)
        pages = time_ui(root, args.requests)
        mlflow = {} if args.no_mlflow else time_mlflow(root, args.requests)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}",
        "project": "built demo" if built else str(args.project),
        "requests_per_page": args.requests,
        "pages": pages,
        "slowest_page_server_ms": max((p["server_ms"] or 0 for p in pages.values()), default=None),
        "mlflow_server": mlflow,
    }
    if mlflow and pages.get("runs") and pages.get("run"):
        result["runs_page_vs_mlflow_runs_search"] = round(
            (pages["runs"]["round_trip_ms"] or 0) / (mlflow["runs_search"]["round_trip_ms"] or 1), 2)
        result["run_page_vs_mlflow_run_get"] = round(
            (pages["run"]["round_trip_ms"] or 0) / (mlflow["run_get"]["round_trip_ms"] or 1), 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
