"""Fault trials: ``shipyard recommend`` killed with SIGKILL at random moments.

    python benchmarks/kill_recommend.py [--trials 12] [--seed 8] [--out FILE]

The recommender example is ingested, trained twice (small tuning), version 1 promoted and
published once, then version 2 promoted, so the published (old) set and the one being written
(new) differ by model version. Each trial starts ``shipyard recommend --top K`` (K alternates
10 and 20, so two complete sets also differ in size) and kills it after a random delay: half
from its start, over the length of the last whole ``recommend``; half from the moment its
first rows appear, over the time writing and swapping took in a watched run (calibration) —
a fraction of a second that delays from the start rarely hit on a busy machine. Trials go on until
``--trials`` of them were killed (a run may finish before its delay). After each kill the results
database must show:

* one current set, complete: every customer of the first publication, K products each, and
  the model version its set row names (the old set or the new one, never a mix);
* no table other than the store's three;
* then a ``recommend`` that succeeds, after which no row or set other than the current one is
  left (a killed writer's rows are removed by the next write).

Figures go to ``benchmarks/results/kill_recommend.json``: trials, where the kills landed
(before any row was written, while writing, after the swap), violations (must be 0), timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

RESULTS = Path(__file__).parent / "results" / "kill_recommend.json"
SHIPYARD = [sys.executable, "-m", "shipyard"]
TABLES = {"shipyard_recommendation_sets", "shipyard_recommendations",
          "shipyard_recommendations_current"}
MODEL = "recommender"


def shipyard(root: Path, *args: str) -> float:
    """Run a command to completion (it must succeed); its wall time."""
    started = time.perf_counter()
    done = subprocess.run([*SHIPYARD, *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}, check=False)
    if done.returncode != 0:
        raise SystemExit(f"shipyard {' '.join(args)} failed ({done.returncode}):\n"
                         f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def prepare(root: Path) -> None:
    shipyard(root.parent, "example", "recommender", str(root))
    config = root / "shipyard.yaml"
    config.write_text(config.read_text().replace("trials: 12", "trials: 2"))
    shipyard(root, "ingest")
    shipyard(root, "run", "train")
    shipyard(root, "run", "train", "--no-cache", "--params", "seed=7")
    shipyard(root, "models", "promote", MODEL, "1", "--reason", "kill trials: old set")


def results_engine(root: Path) -> sa.Engine:
    from shipyard.project import Project

    return sa.create_engine(Project.open(root, "dev").results_url)


def state(engine: sa.Engine) -> dict[str, Any]:
    """The current set and what else lies in the results database, read in one transaction."""
    with engine.connect() as conn:
        current = conn.execute(sa.text(
            "SELECT s.id, s.version, s.k, s.customers FROM shipyard_recommendation_sets s "
            "JOIN shipyard_recommendations_current c ON c.set_id = s.id "
            "WHERE c.model = :m"), {"m": MODEL}).one()
        rows = conn.execute(sa.text(
            "SELECT customer_id, products FROM shipyard_recommendations WHERE set_id = :s"),
            {"s": current.id}).all()
        other_rows = conn.execute(sa.text(
            "SELECT count(*) FROM shipyard_recommendations WHERE set_id <> :s"),
            {"s": current.id}).scalar_one()
        other_sets = conn.execute(sa.text(
            "SELECT count(*) FROM shipyard_recommendation_sets WHERE id <> :s"),
            {"s": current.id}).scalar_one()
    return {"id": current.id, "version": current.version, "k": current.k,
            "customers": current.customers, "rows": rows, "other_rows": other_rows,
            "other_sets": other_sets, "tables": set(sa.inspect(engine).get_table_names())}


def violations(now: dict[str, Any], everyone: set[str], versions: set[int]) -> list[str]:
    """What is wrong with the current set: it must be whole, of one version, K each."""
    found = []
    customers = [c for c, _ in now["rows"]]
    if set(customers) != everyone or len(customers) != len(everyone):
        found.append(f"set {now['id']}: {len(set(customers))} of {len(everyone)} customers")
    if now["customers"] != len(everyone):
        found.append(f"set {now['id']} says {now['customers']} customers")
    short = sum(len(json.loads(p)) != now["k"] for _, p in now["rows"])
    if short:
        found.append(f"set {now['id']}: {short} customers without {now['k']} products")
    if now["version"] not in versions:
        found.append(f"set {now['id']}: version {now['version']} was never production")
    extra = now["tables"] - TABLES - {"shipyard_results_alembic_version"}  # the schema's version
    if extra:
        found.append(f"unexpected tables {sorted(extra)}")
    return found


def _sets(engine: sa.Engine) -> tuple[set[str], str]:
    """Every set id in the store, and the current one."""
    with engine.connect() as conn:
        ids = set(conn.execute(sa.text("SELECT id FROM shipyard_recommendation_sets")).scalars())
        current = conn.execute(sa.text("SELECT set_id FROM shipyard_recommendations_current "
                                       "WHERE model = :m"), {"m": MODEL}).scalar_one()
    return ids, current


def _first_rows(engine: sa.Engine, process: subprocess.Popen[bytes], old: set[str]) -> bool:
    """Wait until ``process`` has written the first rows of a new set; False if it ended."""
    while process.poll() is None:
        if _sets(engine)[0] - old:
            return True
        time.sleep(0.005)
    return False


def phases(root: Path, engine: sa.Engine, k: int) -> dict[str, float]:
    """One whole ``recommend``, watched: when its first rows appear, when the set is swapped
    in, and when the process ends (seconds from its start)."""
    old, before = _sets(engine)
    started = time.perf_counter()
    process = subprocess.Popen([*SHIPYARD, "recommend", "--top", str(k)], cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _first_rows(engine, process, old)
    write = time.perf_counter() - started
    while process.poll() is None and _sets(engine)[1] == before:
        time.sleep(0.005)
    swap = time.perf_counter() - started
    if process.wait() != 0:
        raise SystemExit(f"recommend failed ({process.returncode}) while calibrating")
    return {"write": write, "swap": swap, "end": time.perf_counter() - started}


def trial(root: Path, engine: sa.Engine, delay_s: float, k: int,
          from_first_rows: bool) -> dict[str, Any]:
    """Kill a ``recommend`` ``delay_s`` after its start, or after its first rows appeared."""
    before = state(engine)
    process = subprocess.Popen([*SHIPYARD, "recommend", "--top", str(k)], cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if from_first_rows:
        _first_rows(engine, process, {before["id"]})
    try:
        process.wait(timeout=delay_s)
        killed = False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed = True
    after = state(engine)
    if not killed:
        landed = "finished before the kill"
    elif after["id"] != before["id"]:
        landed = "after the swap"
    elif after["other_rows"] > before["other_rows"] or after["other_sets"] > before["other_sets"]:
        landed = "while writing"
    else:
        landed = "before any row was written"
    return {"delay_s": round(delay_s, 3), "from": "first rows" if from_first_rows else "start",
            "k": k, "killed": killed, "landed": landed, "before": before, "after": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=12, help="killed trials wanted")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="shipyard-kill-recommend-") as folder:
        root = Path(folder) / "shop"
        prepare(root)
        engine = results_engine(root)
        full_s = shipyard(root, "recommend", "--top", "10")  # the old set, version 1
        first = state(engine)
        everyone = {c for c, _ in first["rows"]}
        shipyard(root, "models", "promote", MODEL, "2", "--reason", "kill trials: new set")
        versions = {1, 2}
        window = phases(root, engine, 10)
        trials: list[dict[str, Any]] = []
        problems: list[str] = []
        next_ok, took, i = 0, [full_s], 0
        while sum(t["killed"] for t in trials) < args.trials and i < 3 * args.trials:
            # Even trials: anywhere in a whole run. Odd ones: once its first rows are written,
            # within the time writing and swapping took in the calibration (a fraction of a
            # second, too short for a delay from the start to hit it on a busy machine).
            from_first_rows = i % 2 == 1
            if from_first_rows:
                delay = rng.uniform(0, 2 * (window["swap"] - window["write"]))
            else:
                delay = rng.uniform(0, took[-1] * 1.1)
            k = 20 if i % 2 == 0 else 10
            done = trial(root, engine, delay, k, from_first_rows)
            found = violations(done["after"], everyone, versions)
            if done["after"]["id"] != done["before"]["id"] and done["after"]["k"] != k:
                found.append(f"a new set of top {done['after']['k']}, asked for {k}")
            took.append(shipyard(root, "recommend", "--top", str(k)))  # must succeed…
            next_ok += 1
            clean = state(engine)  # …and leave nothing of the killed one behind
            found += violations(clean, everyone, versions)
            if clean["other_rows"] or clean["other_sets"]:
                found.append(f"{clean['other_rows']} rows / {clean['other_sets']} sets left "
                             f"after the next recommend")
            problems += [f"trial {i}: {p}" for p in found]
            trials.append({"delay_s": done["delay_s"], "from": done["from"], "k": k, "killed": done["killed"],
                           "landed": done["landed"],
                           "orphan_rows_after_kill": done["after"]["other_rows"],
                           "current_version_after_kill": done["after"]["version"],
                           "violations": found})
            print(f"trial {i}: kill {done['delay_s']:.3f} s after {done['from']}, "
                  f"{done['landed']}, "
                  f"{len(found)} violation(s)", flush=True)
            i += 1
        landed: dict[str, int] = {}
        for t in trials:
            landed[t["landed"]] = landed.get(t["landed"], 0) + 1
        figures = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "seed": args.seed, "customers": len(everyone),
            "recommend_s": {"first": round(full_s, 2),
                            "median": round(sorted(took)[len(took) // 2], 2)},
            "write_window_s": {k: round(v, 3) for k, v in window.items()},
            "trials": len(trials), "killed": sum(t["killed"] for t in trials),
            "landed": landed, "next_recommend_succeeded": next_ok,
            "violations": len(problems), "problems": problems, "detail": trials,
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if k != "detail"}, indent=2))
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
