"""Benchmark: top-10 for 100,000 customers × 20,000 products into the results DB, vs NumPy.

    python benchmarks/topk.py [--customers 100000] [--products 20000] [--runs 3]
                              [--out benchmarks/results/topk.json]

The purchases are synthetic and seeded, drawn the way the recommender example's ERP simulator
(``erp.py``) draws order lines, with its constants: Zipf-like product popularity
(rank r weighs (r + 5)⁻¹), segments preferring categories (its affinity table), heavy-tailed
customer activity (lognormal σ 0.9), 1.6 orders a month of 3.2 lines, half the lines re-buying
a product the customer bought before; six months of history (about 4.6M lines). ALS (64
factors) is fitted on them with 3 iterations: what is timed is top-K over the factors, which
costs the same whatever their quality.

Each measurement runs in a fresh process that loads the model first (not timed) and reports
its wall time and its peak resident memory while timed (the kernel's VmHWM, reset after the
load) and how much that is above what it held before:

* ``floor``: the same work as a short hand-written script does it — per chunk of 200 customers
  (the whole 100k × 20k score matrix would be 8 GB) ``user_factors @ item_factors.T``, the
  customer's bought products set to -inf from the purchase matrix, ``argpartition`` for the
  top 10 and ``argsort`` of those 10 (best first), product ids and scores as JSON lists, and
  every customer's row inserted with the standard library's ``sqlite3`` (``executemany``,
  WAL and ``synchronous=NORMAL`` as Shipyard's results DB, one transaction per chunk) into a
  table of its own — no set bookkeeping, no writer thread;
* ``sqlite`` / ``postgresql``: Shipyard's ``shipyard recommend`` path without the registry load —
  top 10 with already-bought products excluded, best first, then every customer's row written
  as a new set of the results DB and swapped in (one transaction per 4,096 customers, COPY on
  PostgreSQL). PostgreSQL is the local server (127.0.0.1:5432, trust auth), in a database
  made for the run and dropped after.

The three alternate within each of ``--runs`` rounds; medians, minimum and maximum are
reported, with ``topk_100k_ratio_vs_floor`` (Shipyard on SQLite ÷ floor; PostgreSQL's ratio
beside it). The process's CPU time is reported too (this process only: not PostgreSQL's
server): on a shared machine wall time moves with the neighbours' load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import harness
import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from shipyard.recsys.model import RecModel

RESULTS = Path(__file__).parent / "results" / "topk.json"
PG_ADMIN = os.environ.get("SHIPYARD_BENCH_PG",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MONTHS = 6
VARIANTS = ("floor", "sqlite", "postgresql")


def purchases(customers: int, products: int, seed: int = 0) -> sp.csr_matrix:
    """Customers × products purchase counts, drawn with the ERP simulator's constants."""
    from shipyard.examples.recommender import erp

    rng = np.random.default_rng(seed)
    segment = rng.choice(len(erp.SEGMENTS), size=customers, p=erp.SEGMENT_SHARE)
    category = rng.integers(len(erp.CATEGORIES), size=products)
    popularity = (rng.permutation(products) + 1 + erp.ZIPF[1]) ** -erp.ZIPF[0]
    weights = popularity[None, :] * erp.AFFINITY[:, category]
    weights /= weights.sum(axis=1, keepdims=True)
    activity = rng.lognormal(0.0, 0.9, customers)
    lines = rng.poisson(activity * erp.ORDERS_PER_CUSTOMER * (1 + erp.EXTRA_LINES) * MONTHS)
    fresh = np.maximum(1, rng.binomial(lines, 1 - erp.REPEAT))
    repeats = np.maximum(0, lines - fresh)
    buyer = np.repeat(np.arange(customers), fresh)
    product = np.empty(len(buyer), dtype=np.int64)
    for s in range(len(erp.SEGMENTS)):
        mine = segment[buyer] == s
        product[mine] = rng.choice(products, size=int(mine.sum()), p=weights[s])
    # a repeat line re-buys one of the customer's fresh lines, chosen uniformly
    first = np.concatenate([[0], np.cumsum(fresh)[:-1]])
    again = np.repeat(np.arange(customers), repeats)
    picks = first[again] + (rng.random(len(again)) * fresh[again]).astype(np.int64)
    rows = np.concatenate([buyer, again])
    cols = np.concatenate([product, product[picks]])
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                           shape=(customers, products))
    matrix.sum_duplicates()
    return matrix


def build(folder: Path, customers: int, products: int) -> dict:
    from shipyard.recsys.data import Interactions
    from shipyard.recsys.model import fit_recommender

    started = time.perf_counter()
    matrix = purchases(customers, products)
    drawn = time.perf_counter() - started
    data = Interactions(users=np.array([f"C{i:06d}" for i in range(customers)]),
                        items=np.array([f"P{i:05d}" for i in range(products)]), matrix=matrix)
    started = time.perf_counter()
    model = fit_recommender("als", {"factors": 64, "iterations": 3}, data)
    model.params["exclude_seen"] = True
    fitted = time.perf_counter() - started
    model.save(folder / "model")
    return {"interactions": int(matrix.nnz), "lines": int(matrix.sum()),
            "generate_s": round(drawn, 1), "fit_s": round(fitted, 1)}


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    """Start the kernel's peak-RSS mark (VmHWM) again from the current RSS. (``ru_maxrss``
    would not do: Linux carries it over ``exec`` from the forking parent.)"""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def floor(model: RecModel, k: int, scores_per_chunk: int, path: str) -> None:
    """Every customer's top ``k`` unbought products, best first, written to SQLite at
    ``path``: the hand-written script (see the module's docstring)."""
    import sqlite3

    assert model.user_factors is not None and model.item_factors is not None
    users, items, seen = model.user_factors, model.item_factors.T, model.seen
    customers, products = model.users, model.items
    chunk = max(1, scores_per_chunk // items.shape[1])
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE recommendations (customer_id TEXT PRIMARY KEY, products TEXT, "
               "scores TEXT)")
    for start in range(0, len(users), chunk):
        scores = users[start:start + chunk] @ items
        bought = seen[start:start + chunk]
        scores[np.repeat(np.arange(len(scores)), np.diff(bought.indptr)), bought.indices] = -np.inf
        top = np.argpartition(scores, -k, axis=1)[:, -k:]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1)
        top, top_scores = np.take_along_axis(top, order, axis=1), np.take_along_axis(
            top_scores, order, axis=1)
        with db:
            db.executemany("INSERT INTO recommendations VALUES (?, ?, ?)", [
                (c, json.dumps(p), json.dumps(v)) for c, p, v in zip(
                    customers[start:start + chunk].tolist(), products[top].tolist(),
                    top_scores.tolist(), strict=True)])
    db.close()


def child(variant: str, folder: Path, url: str | None) -> None:
    """One timed measurement in this process; prints its figures as JSON."""
    from shipyard.recsys.model import SCORES_PER_BATCH, RecModel

    model = RecModel.load(folder / "model")
    k = 10
    store = None
    if variant != "floor":
        from shipyard.batch.results import ResultsStore
        from shipyard.db import create_engine_for

        assert url is not None  # the engine `shipyard recommend` gets (SQLite: WAL, NORMAL)
        store = ResultsStore(create_engine_for(url, purpose="results database"))
    before = _status_mb("VmRSS")
    _reset_peak()
    cpu = time.process_time()
    started = time.perf_counter()
    if variant == "floor":
        assert url is not None
        floor(model, k, SCORES_PER_BATCH, url.removeprefix("sqlite:///"))
    else:
        from shipyard.batch.recommend import BATCH, _rows

        assert store is not None
        made = store.write("bench", 1, k, _rows(model, k, BATCH))
        assert made.customers == len(model.users)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    peak = _status_mb("VmHWM")
    print(json.dumps({"seconds": seconds, "cpu_s": round(cpu, 3), "rss_before_mb": round(before, 1),
                      "peak_rss_mb": round(peak, 1), "added_mb": round(peak - before, 1)}))


def _measure(variant: str, folder: Path, url: str | None) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", variant, "--folder", str(folder),
                           *(["--url", url] if url else [])],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _summary(samples: list[dict]) -> dict:
    seconds = [s["seconds"] for s in samples]
    return {"median_s": round(statistics.median(seconds), 3), "min_s": round(min(seconds), 3),
            "max_s": round(max(seconds), 3),
            "median_cpu_s": round(statistics.median(s["cpu_s"] for s in samples), 3),
            "peak_rss_mb": max(s["peak_rss_mb"] for s in samples),
            "added_mb": max(s["added_mb"] for s in samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.folder, args.url)
        return
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    database = f"shipyard_bench_topk_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    pg_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{database}"
    samples: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            print(f"drawing {args.customers:,} customers × {args.products:,} products and "
                  "fitting ALS…", flush=True)
            data = build(folder, args.customers, args.products)
            print(json.dumps(data), flush=True)
            for i in range(args.runs):
                for variant in VARIANTS:
                    url = {"floor": f"sqlite:///{folder / f'floor-{i}.db'}",
                           "postgresql": pg_url,
                           "sqlite": f"sqlite:///{folder / f'results-{i}.db'}"}[variant]
                    figures = _measure(variant, folder, url)
                    samples[variant].append(figures)
                    print(f"run {i + 1}/{args.runs} {variant:10s} {figures['seconds']:7.2f} s  "
                          f"peak {figures['peak_rss_mb']:7.1f} MB (+{figures['added_mb']} MB)",
                          flush=True)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
    summary = {v: _summary(samples[v]) for v in VARIANTS}
    floor_s = summary["floor"]["median_s"]
    result = {
        **harness.header("topk"),
        "customers": args.customers, "products": args.products, "k": 10, "runs": args.runs,
        "data": data,
        **summary,
        "topk_100k_ratio_vs_floor": round(summary["sqlite"]["median_s"] / floor_s, 3),
        "topk_100k_postgresql_ratio_vs_floor": round(summary["postgresql"]["median_s"] / floor_s, 3),
        "ratio_spread": {v: harness.ratio_spread(
            (summary[v]["min_s"], summary[v]["max_s"]),
            (summary["floor"]["min_s"], summary["floor"]["max_s"])) for v in ("sqlite", "postgresql")},
        "targets": {"topk_100k_ratio_vs_floor": "<= 1.2, peak memory reported"},
        "samples": samples,
    }
    harness.write(result, args.out)


if __name__ == "__main__":
    main()
