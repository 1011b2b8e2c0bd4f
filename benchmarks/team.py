"""Benchmark: Shipyard at team scale (issue 19), every store a server, beside what a user
would otherwise write against the same servers.

    python benchmarks/team.py [--only ingest|serve] [--rows 1000000] [--ingest-runs 3]
                              [--serve-runs 5] [--out benchmarks/results/team.json]

The team stack (``teamstack/team.py``: moto S3, Azurite, ``mlflow server`` on PostgreSQL, Dask)
is started in a temporary folder for the run and stopped after; its environment is applied to
this process and every measured one. Two figures of the issue, each measured in fresh
processes, the tools alternating (the order rotates each round, so the neighbours' load on this
shared machine falls on all alike):

* **ingest** of an ``order_lines`` table of N rows (benchmarks/ingest.py's, in a throwaway
  PostgreSQL database) into a Delta lake on S3, median of 3 each:
  ``shipyard`` — ``shipyard.ingest`` of a project environment whose lake and state are under
  ``s3://shipyard/<unique>/``, metadata on a fresh PostgreSQL database per run (staging,
  validation, RAW + CLEAN tables); ``pandas`` — ``pandas.read_sql`` + ``write_deltalake`` of the
  frame to the same store, RAW only, as a user would write it; ``floor`` — ADBC's PostgreSQL
  driver → Arrow → ``write_deltalake``, nothing else. Ratios are Shipyard's seconds over theirs
  (above 1: Shipyard is slower).
* **serve cold start**: ``shipyard serve`` from process start to ``/ready`` answering 200 with
  the model in ``models``, median of 5 each: ``team`` — from an empty folder holding only
  ``shipyard.yaml``, registry on the stack's MLflow server, lake on S3, metadata on PostgreSQL;
  ``local`` — the same Titanic model in a project folder on its embedded stores (SQLite
  tracking, local lake). The model is trained and promoted once in each beforehand.

Every measured process runs in a fresh working folder; whatever it leaves there apart from
``shipyard.yaml`` is listed under ``files_left`` (at team scale a process should leave nothing:
docs/operations/team-stack.md). Load average (``uptime``) before and after each part, CPU count
and versions go beside the figures. Each run writes under an S3 prefix of its own, deleted after
it (moto keeps objects in memory); the databases are dropped when the stack stops.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # teamstack, as the tests use it

from teamstack.team import BUCKET, TeamStack, create_database, drop_databases, pg_url

RESULTS = Path(__file__).parent / "results" / "team.json"
INGEST_KINDS = ("shipyard", "pandas", "floor")
SERVE_KINDS = ("team", "local")
MODEL = "titanic"
READY_TIMEOUT_S = 300.0
VERSIONS = ("shipyard", "mlflow", "deltalake", "pandas", "pyarrow", "adbc-driver-postgresql",
            "obstore", "moto", "sqlalchemy", "psycopg")


# -- the stores -----------------------------------------------------------------------------
def team_environment(lake: str, state: str, db: str, tracking_uri: str) -> dict[str, str]:
    """A project environment with every store a server (``state`` a folder while object-store
    state is not on main: see ``notes``)."""
    return {"lake": lake, "state": state, "metadata_db": db, "results_db": db,
            "tracking_uri": tracking_uri}


def write_config(config: dict[str, Any], folder: Path) -> None:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shipyard.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def delete_prefix(url: str) -> None:
    import obstore
    from obstore.store import from_url

    store = from_url(url)
    paths = [meta["path"] for meta in obstore.list(store).collect()]
    if paths:
        obstore.delete(store, paths)


def files_left(folder: Path) -> list[str]:
    """What a process wrote in its working folder (the config it was given aside): files, and
    folders left empty (``s3:/…`` made by mistake from a URL would be one)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.name != "shipyard.yaml" and (p.is_file() or not any(p.iterdir())))


def state_of(prefix: str, local: Path | None, name: str) -> str:
    """The state store of a project environment: beside its lake on S3, or while object-store
    state is not on main (``local``), a fresh folder of its own outside the working folder, as
    a mounted volume would be."""
    if local is None:
        return f"{prefix}/state"
    folder = local / name
    shutil.rmtree(folder, ignore_errors=True)
    return str(folder)


def versions() -> dict[str, str]:
    return {name: importlib.metadata.version(name) for name in VERSIONS}


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()


def state_probe(admin_url: str, tracking_uri: str, space: str) -> str | None:
    """Why ``shipyard ingest`` cannot keep its state on S3 yet (None if it can): the Titanic
    example ingested once with ``state: s3://…``. Until object-store state is on main, the
    measured runs keep state in a temporary folder and ``notes`` says so."""
    with tempfile.TemporaryDirectory(prefix="bench-team-probe-") as folder:
        root = Path(folder) / "titanic"
        database = create_database("shipyard_bench_probe", admin_url)
        try:
            cli(["example", MODEL, str(root)], Path(folder))
            add_environment(root, team_environment(
                f"{space}/probe/lake", f"{space}/probe/state", pg_url(database, admin_url),
                tracking_uri))
            done = subprocess.run([sys.executable, "-m", "shipyard", "ingest", "--env", "team"],
                                  cwd=root, capture_output=True, text=True, check=False)
        finally:
            drop_databases([database], admin_url)
            delete_prefix(f"{space}/probe")
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit {done.returncode}"


# -- ingest: one measured run, in its own process ------------------------------------------
def ingest_worker(kind: str, url: str, lake: str, rows: int) -> dict[str, float]:
    """Libraries imported and the project opened before the clock starts; the clock covers
    reading the table and writing the Delta table(s)."""
    from ingest import peer

    if kind in ("pandas", "floor"):
        seconds, landed = peer(kind, url, f"{lake}/raw/order_lines")
    else:
        from shipyard import Project, ingest

        project = Project.open(".", "team")
        start = time.perf_counter()
        result = ingest(project, ["order_lines"])
        seconds = time.perf_counter() - start
        (outcome,) = result.outcomes
        assert outcome.status == "landed", outcome
        landed = outcome.batch.rows
    assert landed == rows, f"{kind} landed {landed} rows of {rows}"
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_rss_mb": peak_kib / 1024}


def ingest_run(kind: str, source: str, rows: int, space: str, state: Path | None,
               stack: TeamStack) -> tuple[dict[str, float], list[str]]:
    """One run in a fresh process, fresh working folder, S3 prefix and (Shipyard) metadata
    database; returns its figures and the files it left in its working folder."""
    import yaml
    from ingest import PROJECT_YAML

    prefix = f"{space}/ingest-{kind}-{uuid.uuid4().hex[:8]}"
    database = create_database("shipyard_bench_meta", stack.pg_admin_url)
    try:
        with tempfile.TemporaryDirectory(prefix=f"bench-team-{kind}-") as folder:
            cwd = Path(folder) / "cwd"
            cwd.mkdir()
            if kind == "shipyard":
                config = yaml.safe_load(PROJECT_YAML.format(url=source))
                config["environments"] = {"team": team_environment(
                    f"{prefix}/lake", state_of(prefix, state, "ingest"),
                    pg_url(database, stack.pg_admin_url), stack.env["MLFLOW_TRACKING_URI"])}
                write_config(config, cwd)
            done = subprocess.run(
                [sys.executable, __file__, "--worker", kind, "--url", source,
                 "--lake", f"{prefix}/lake", "--rows", str(rows)],
                cwd=cwd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{kind} ingest failed:\n{done.stdout}\n{done.stderr}")
            return json.loads(done.stdout.strip().splitlines()[-1]), files_left(cwd)
    finally:
        drop_databases([database], stack.pg_admin_url)
        delete_prefix(prefix)


def measure_ingest(stack: TeamStack, rows: int, runs: int, space: str,
                   state: Path | None) -> dict[str, Any]:
    from ingest import create_database as create_source
    from ingest import drop_database as drop_source

    load_before = harness.load_average()
    source = create_source(rows)
    samples: dict[str, list[dict[str, float]]] = {k: [] for k in INGEST_KINDS}
    left: dict[str, list[str]] = {}
    try:
        for i in range(runs):
            for kind in harness.rotated(INGEST_KINDS, i):
                figures, files = ingest_run(kind, source, rows, space, state, stack)
                samples[kind].append(figures)
                if files:
                    left[f"{kind} run {i + 1}"] = files
                print(f"ingest run {i + 1}/{runs} {kind:8s} {figures['seconds']:7.2f} s  "
                      f"peak {figures['peak_rss_mb']:6.0f} MB  files left {len(files)}",
                      flush=True)
    finally:
        drop_source(source)
    median = {k: statistics.median(r["seconds"] for r in v) for k, v in samples.items()}
    seconds = {k: [r["seconds"] for r in v] for k, v in samples.items()}
    return {
        "rows": rows, "runs": runs,
        **{kind: {"median_s": round(median[kind], 3),
                  "rows_per_s": round(rows / median[kind]),
                  "seconds": [round(s, 3) for s in seconds[kind]],
                  "spread_s": harness.spread(seconds[kind]),
                  "peak_rss_mb": round(statistics.median(r["peak_rss_mb"]
                                                         for r in samples[kind]), 1)}
           for kind in INGEST_KINDS},
        "ratio_shipyard_vs_pandas": round(median["shipyard"] / median["pandas"], 2),
        "ratio_shipyard_vs_floor": round(median["shipyard"] / median["floor"], 2),
        "ratio_pandas_vs_floor": round(median["pandas"] / median["floor"], 2),
        "ratio_shipyard_vs_pandas_spread": harness.ratio_spread(seconds["shipyard"],
                                                                seconds["pandas"]),
        "ratio_shipyard_vs_floor_spread": harness.ratio_spread(seconds["shipyard"],
                                                               seconds["floor"]),
        "what": "seconds from reading the table to the Delta table(s) committed on S3; Shipyard "
                "also stages, validates and writes CLEAN, the others write RAW only; ratio = "
                "Shipyard seconds / theirs (above 1: slower)",
        "files_left": left,
        "load_average_before": load_before, "load_average_after": harness.load_average(),
    }


# -- serve: cold start ----------------------------------------------------------------------
def cli(args: list[str], cwd: Path, *, retries: int = 0) -> int:
    """A ``shipyard`` command that must succeed; returns how many retries it needed."""
    for attempt in range(retries + 1):
        done = subprocess.run([sys.executable, "-m", "shipyard", *args], cwd=cwd,
                              capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return attempt
        print(f"shipyard {' '.join(args)} failed (attempt {attempt + 1}):\n"
              f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}", flush=True)
    raise SystemExit(f"shipyard {' '.join(args)} failed in {cwd}")


def add_environment(root: Path, environment: dict[str, str]) -> dict[str, Any]:
    """The project's shipyard.yaml with a ``team`` environment; returns the whole config."""
    import yaml

    config = yaml.safe_load((root / "shipyard.yaml").read_text())
    config["environments"]["team"] = environment
    write_config(config, root)
    return config


def train_and_promote(root: Path, env: str) -> int:
    """Ingest, train and promote version 1: the model every cold start loads. The first MLflow
    call of a fresh process has been seen to fail once in a race inside MLflow's telemetry
    (KeyError '_MLFLOW_TELEMETRY_SESSION_ID'), so training is tried twice; returns retries."""
    cli(["ingest", "--env", env], root)
    retried = cli(["run", "train", "--env", env], root, retries=1)
    cli(["models", "promote", MODEL, "1", "--env", env, "--reason", "benchmarks/team.py"], root)
    return retried


def artifact_location(tracking_uri: str, experiment: str) -> str:
    """Where the team model's files are, so the figure says what the server loaded from: the
    tracking server's proxied store (``mlflow-artifacts:``, S3 behind it) or a folder."""
    from mlflow import MlflowClient

    found = MlflowClient(tracking_uri).get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} on {tracking_uri}"
    return str(found.artifact_location)


def cold_start(cwd: Path, env: str, key: str, log: Path) -> float:
    """Seconds from starting ``shipyard serve`` to ``/ready`` 200 with the model listed."""
    on = harness.port()
    began = time.perf_counter()
    server = harness.start([sys.executable, "-m", "shipyard", "serve", "--env", env,
                            "--port", str(on)], cwd=cwd, env={"SHIPYARD_API_KEYS": key}, log=log)
    try:
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=2) as client:
            while time.perf_counter() - began < READY_TIMEOUT_S:
                if server.poll() is not None:
                    raise SystemExit(f"shipyard serve --env {env} exited; log: {log}\n"
                                     f"{log.read_text()[-3000:]}")
                try:
                    ready = client.get(f"http://127.0.0.1:{on}/ready")
                    if ready.status_code == 200 and MODEL in ready.json().get("models", {}):
                        return time.perf_counter() - began
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise SystemExit(f"shipyard serve --env {env}: /ready not 200 after {READY_TIMEOUT_S} s")
    finally:
        harness.stop([server])


def measure_serve(stack: TeamStack, runs: int, space: str, state: Path | None,
                  work: Path) -> dict[str, Any]:
    key = secrets.token_urlsafe(24)
    team_root, local_root = work / "titanic-team", work / "titanic-local"
    cli(["example", MODEL, str(team_root)], work)
    cli(["example", MODEL, str(local_root)], work)
    config = add_environment(team_root, team_environment(
        f"{space}/serve/lake", state_of(f"{space}/serve", state, "serve"), stack.env["SHIPYARD_DB"],
        stack.env["MLFLOW_TRACKING_URI"]))
    retries = {"team": train_and_promote(team_root, "team"),
               "local": train_and_promote(local_root, "dev")}
    artifacts = artifact_location(stack.env["MLFLOW_TRACKING_URI"], config["project"])
    load_before = harness.load_average()
    samples: dict[str, list[float]] = {k: [] for k in SERVE_KINDS}
    left: dict[str, list[str]] = {}
    for i in range(runs):
        for kind in harness.rotated(SERVE_KINDS, i):
            log = work / f"serve-{kind}-{i + 1}.log"
            if kind == "team":  # an empty folder holding the config alone, as a new pod's
                cwd = work / f"empty-{i + 1}"
                write_config(config, cwd)
                seconds = cold_start(cwd, "team", key, log)
                if files := files_left(cwd):
                    left[f"team run {i + 1}"] = files
            else:
                seconds = cold_start(local_root, "dev", key, log)
            samples[kind].append(seconds)
            print(f"serve run {i + 1}/{runs} {kind:6s} cold start {seconds:6.2f} s", flush=True)
    median = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "runs": runs,
        **{kind: {"median_s": round(median[kind], 3),
                  "seconds": [round(s, 3) for s in samples[kind]],
                  "spread_s": harness.spread(samples[kind])} for kind in SERVE_KINDS},
        "ratio_team_vs_local": round(median["team"] / median["local"], 2),
        "ratio_team_vs_local_spread": harness.ratio_spread(samples["team"], samples["local"]),
        "what": "seconds from starting `shipyard serve` to /ready 200 with the model loaded; "
                "team: from an empty folder holding only shipyard.yaml, registry on the MLflow "
                "server, lake on S3, metadata on PostgreSQL; local: the project folder on its "
                "embedded stores (SQLite tracking); ratio = team / local",
        "setup_train_retries": retries,
        "team_artifact_location": artifacts,
        "files_left": left,
        "load_average_before": load_before, "load_average_after": harness.load_average(),
    }


# -- the run --------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["ingest", "serve"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ingest-runs", type=int, default=3)
    parser.add_argument("--serve-runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", choices=INGEST_KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--lake", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(ingest_worker(args.worker, args.url, args.lake, args.rows)))
        return

    load_at_start, uptime_before = harness.load_average(), uptime()
    result: dict[str, Any] = {}
    notes: list[str] = []
    space = f"s3://{BUCKET}/bench-{uuid.uuid4().hex[:8]}"
    parts: dict[str, Callable[[TeamStack, Path | None, Path], dict[str, Any]]] = {
        "ingest": lambda s, st, w: measure_ingest(s, args.rows, args.ingest_runs, space, st),
        "serve": lambda s, st, w: measure_serve(s, args.serve_runs, space, st, w),
    }
    with tempfile.TemporaryDirectory(prefix="bench-team-") as folder:
        work = Path(folder)
        began = time.monotonic()
        with TeamStack(work / "stack") as stack:
            result["stack_start_s"] = round(time.monotonic() - began, 1)
            os.environ.update(stack.env)  # this process (S3 clean-up) and every child
            state = None
            if (why := state_probe(stack.pg_admin_url, stack.env["MLFLOW_TRACKING_URI"],
                                   space)) is not None:
                state = work / "state"
                notes.append(f"state kept in a temporary folder, not on S3: `shipyard ingest` "
                             f"with an s3:// state fails on this commit ({why}); re-run once "
                             f"object-store state (branch lakestate) is merged")
            for name, measure in parts.items():
                if args.only in (None, name):
                    result[name] = measure(stack, state, work)
    result["state"] = "s3" if state is None else "temporary folder"
    if "serve" in result and result["serve"]["team_artifact_location"].startswith("file:"):
        notes.append(f"the team model's artifacts are in a folder "
                     f"({result['serve']['team_artifact_location']}), not behind the MLflow "
                     f"server: on this commit an experiment's artifact location is "
                     f"<state>/mlartifacts even with a tracking server (branch pipestate "
                     f"changes it); the team cold start read the model from local disk")
    result["files_left_total"] = sum(len(files) for name in parts if name in result
                                     for files in result[name]["files_left"].values())
    result["notes"] = notes
    head = harness.header("team", load_at_start=load_at_start)  # the load at the end, now
    head["machine"] |= {"uptime_before": uptime_before, "uptime_after": uptime(),
                        "cpu_count": os.cpu_count(), "versions": versions()}
    harness.write(head | result, args.out)


if __name__ == "__main__":
    main()
