"""Kill trials: SIGKILL ``shipyard ingest`` of the recommender example at random points.

    python benchmarks/kill_ingest.py [--trials 16] [--seed 8] [--customers 300] [--months 3]

Each trial adds one month to the example's ERP, starts ``shipyard ingest`` and kills it with
SIGKILL, either at a named fault point (``SHIPYARD_KILL_AT``, :mod:`shipyard.faults`) or after a
random delay within the last 60% of the time a monthly ingest takes (timed once, unkilled,
before the trials). Then it checks, reading the lake with plain
``deltalake`` as any reader would:

* while killed: the lake's snapshot is consistent — every table it names reads at that version,
  RAW and CLEAN of each table hold the same rows, every CURATED version was built from exactly
  the CLEAN versions the snapshot names;
* after the next ingest (the recovery): it exits 0; the snapshot names every table at its newest
  version (nothing written stays unpublished); RAW and CLEAN hold exactly the source's rows,
  each key once (nothing lost, nothing twice); no staged file is left.

Figures go to ``benchmarks/results/kill_ingest.json``. Bounded: a fixed number of trials, each
ingest with a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deltalake import DeltaTable

RESULTS = Path(__file__).parent / "results" / "kill_ingest.json"
POINTS = ("staging", "after-staging", "after-raw", "after-clean", "after-landing",
          "before-snapshot")
TABLES = {"customers": "customer_id", "products": "product_id", "orders": "order_id",
          "order_lines": "order_line_id"}
TIMEOUT_S = 600


def shipyard(*args: str, cwd: Path, env: dict[str, str] | None = None,
             kill_after: float | None = None) -> tuple[int, float]:
    """Run ``shipyard ARGS``; SIGKILL it after ``kill_after`` s. Returns (exit code, seconds)."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "shipyard", *args], cwd=cwd,
                            env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    _out, err = proc.communicate(timeout=TIMEOUT_S)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise RuntimeError(f"shipyard {' '.join(args)} exited {proc.returncode}: {err}")
    return proc.returncode, time.monotonic() - started


def erp(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "erp.py", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL)


def snapshot(lake: Path) -> tuple[int, dict[str, int]]:
    rows = DeltaTable(str(lake / "_snapshots")).to_pyarrow_table().to_pylist()
    newest = max(r["snapshot"] for r in rows)
    return newest, {f"{r['layer']}.{r['table']}": r["version"] for r in rows
                    if r["snapshot"] == newest}


def newest_versions(lake: Path) -> dict[str, int]:
    return {f"{layer}.{table.name}": DeltaTable(str(table)).version()
            for layer in ("raw", "clean", "curated") if (lake / layer).is_dir()
            for table in (lake / layer).iterdir()}


def read(lake: Path, key: str, version: int, columns: list[str] | None = None) -> Any:
    layer, name = key.split(".", 1)
    return DeltaTable(str(lake / layer / name), version=version).to_pyarrow_table(columns=columns)


def commit_metadata(lake: Path, key: str, version: int) -> dict[str, Any]:
    layer, name = key.split(".", 1)
    entries = DeltaTable(str(lake / layer / name)).history()
    return next(e for e in entries if int(e["version"]) == version)


def consistent(lake: Path, versions: dict[str, int]) -> list[str]:
    """Problems of a snapshot: tables out of step with each other."""
    problems = []
    for table in TABLES:
        raw = read(lake, f"raw.{table}", versions[f"raw.{table}"]).num_rows
        clean = read(lake, f"clean.{table}", versions[f"clean.{table}"]).num_rows
        if raw != clean:
            problems.append(f"{table}: raw has {raw} rows, clean {clean}")
    for key, version in versions.items():
        if key.startswith("curated."):
            inputs = commit_metadata(lake, key, version).get("shipyard.inputs", "")
            for pair in inputs.split(","):
                table, _, built_from = pair.partition("@")
                if versions.get(f"clean.{table}") != int(built_from):
                    problems.append(f"{key} v{version} built from clean.{table}@{built_from}, "
                                    f"snapshot has {versions.get(f'clean.{table}')}")
    return problems


def exact(lake: Path, shop: Path, versions: dict[str, int]) -> list[str]:
    """Problems of the lake against the source: rows lost or landed twice."""
    problems = []
    with sqlite3.connect(shop / "erp.db") as con:
        for table, key in TABLES.items():
            source = {row[0] for row in con.execute(f"SELECT {key} FROM {table}")}
            for layer in ("raw", "clean"):
                keys = read(lake, f"{layer}.{table}", versions[f"{layer}.{table}"],
                            [key]).column(key).to_pylist()
                if len(keys) != len(set(keys)) or set(keys) != source:
                    problems.append(f"{layer}.{table}: {len(keys)} rows "
                                    f"({len(set(keys))} keys) vs {len(source)} in the source")
    return problems


def staged(shop: Path) -> list[str]:
    folder = shop / ".shipyard" / "dev" / "staging"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def trial(shop: Path, rng: random.Random, number: int, typical_s: float) -> dict[str, Any]:
    lake = shop / "lake"
    erp("next-month", cwd=shop)
    if number % 2 == 0:
        how: dict[str, Any] = {"kill": "fault point", "point": rng.choice(POINTS)}
        code, _ = shipyard("ingest", cwd=shop, env={"SHIPYARD_KILL_AT": how["point"]})
    else:
        # Reading and validating take most of an ingest, so delays are drawn from its second
        # half, where the writes are; one that outlasts the ingest is recorded as not killed.
        how = {"kill": "random delay", "delay_s": round(rng.uniform(0.4, 1.0) * typical_s, 2)}
        code, _ = shipyard("ingest", cwd=shop, kill_after=how["delay_s"])
    during_id, during = snapshot(lake)
    unpublished = sorted(k for k, v in newest_versions(lake).items() if during.get(k) != v)
    while_killed = consistent(lake, during)
    left_staged = staged(shop)
    recovered, seconds = shipyard("ingest", cwd=shop)
    after_id, after = snapshot(lake)
    problems = consistent(lake, after) + exact(lake, shop, after)
    if after != newest_versions(lake):
        problems.append("versions written but not published after recovery")
    return {
        **how, "killed": code == -signal.SIGKILL, "snapshot_while_killed": during_id,
        "unpublished_while_killed": unpublished, "consistent_while_killed": not while_killed,
        "problems_while_killed": while_killed, "staged_files_while_killed": left_staged,
        "recovery_exit": recovered,
        "recovery_s": round(seconds, 2), "snapshot_after": after_id,
        "complete_and_exact_after": not problems, "problems_after": problems,
        "leaked_staging_files": staged(shop),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--months", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="shipyard-kill-") as folder:
        shop = Path(folder) / "shop"
        shipyard("example", "recommender", str(shop), cwd=Path(folder))
        erp("init", "--customers", str(args.customers), "--months", str(args.months), cwd=shop)
        shipyard("ingest", cwd=shop)
        erp("next-month", cwd=shop)  # time a monthly ingest: the span random kills fall in
        code, typical_s = shipyard("ingest", cwd=shop)
        assert code == 0
        trials = []
        for number in range(args.trials):
            trials.append(trial(shop, rng, number, typical_s))
            t = trials[-1]
            print(f"trial {number + 1}: {t.get('point') or t.get('delay_s')} killed={t['killed']} "
                  f"unpublished={len(t['unpublished_while_killed'])} "
                  f"ok_while_killed={t['consistent_while_killed']} "
                  f"ok_after={t['complete_and_exact_after']} leaked={t['leaked_staging_files']}",
                  flush=True)
    summary = {
        "trials": len(trials),
        "killed": sum(t["killed"] for t in trials),
        "killed_with_unpublished_writes": sum(bool(t["unpublished_while_killed"])
                                              for t in trials),
        "snapshot_consistent_while_killed": sum(t["consistent_while_killed"] for t in trials),
        "staged_files_left_by_kills": sum(len(t["staged_files_while_killed"]) for t in trials),
        "recovered_exit_0": sum(t["recovery_exit"] == 0 for t in trials),
        "complete_and_exact_after_recovery": sum(t["complete_and_exact_after"] for t in trials),
        "leaked_staging_files": sum(len(t["leaked_staging_files"]) for t in trials),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "kill -9 during shipyard ingest (recommender example)",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "settings": vars(args), "typical_ingest_s": round(typical_s, 2),
        "summary": summary, "trials": trials,
    }, indent=2))
    print(json.dumps(summary, indent=2))
    print(f"figures: {RESULTS}")
    ok = (summary["snapshot_consistent_while_killed"] == summary["trials"]
          == summary["complete_and_exact_after_recovery"] == summary["recovered_exit_0"]
          and summary["leaked_staging_files"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
