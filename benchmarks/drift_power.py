"""Benchmark: the sensitivity of ``monitor drift``, measured — its power table.

    python benchmarks/drift_power.py [--seeds 30] [--sizes 1000 10000 100000 1000000]
                                     [--alpha A] [--min-effect E] [--min-null-h H] [--out FILE]

For each window size N and seed, a *reference* sample of N rows (a number, N(0, 1) with 5%
nulls; a category of five values) is profiled as registration profiles training rows
(:func:`shipyard.train.profile.profile_column`), and *current* samples of N rows are counted
into its bins (:meth:`ColumnProfile.count`) and judged by
:func:`shipyard.monitoring.stats.compare` under the project defaults
(:class:`shipyard.config.schema.DriftThresholds`; ``--alpha`` … try others). Each current
sample carries one planted shift:

* location: the mean moves by 0.05, 0.1, 0.2, 0.3, 0.5 standard deviations;
* scale: the spread is multiplied by 1.1, 1.2, 1.5;
* nulls: the null rate rises from 5% by 2, 5, 10 points;
* new category: a value the reference never had takes 2, 5, 15% of the rows;

and three numbers and three categories are drawn unshifted (false positives). The table is
the share of seeds in which the shifted column was flagged, and the share of unshifted
columns flagged, per N. Reference and current have the same size, the case of drift (a window
against the previous one); skew against a larger training profile can only see more.

Results go to ``benchmarks/results/drift_power.json``, and the table to the ``power`` key of
``benchmarks/results/monitoring.json`` (``make bench`` runs this after ``monitoring.py``,
which rewrites that file).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import harness
import numpy as np
import pandas as pd
import pyarrow as pa

from shipyard.config.schema import DriftThresholds
from shipyard.monitoring.stats import Counts, compare
from shipyard.train.profile import ColumnProfile, profile_column

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "drift_power.json"
MONITORING = HERE / "results" / "monitoring.json"
SIZES = [1_000, 10_000, 100_000, 1_000_000]
NULL_RATE = 0.05
CATEGORIES = ["a", "b", "c", "d", "e", "new"]
SHARES = [0.4, 0.25, 0.15, 0.12, 0.08]
UNSHIFTED = 3
"""Unshifted columns of each kind per seed and size."""
SHIFTS: list[tuple[str, str, float]] = [
    *(("location", f"location {s} sd", s) for s in (0.05, 0.1, 0.2, 0.3, 0.5)),
    *(("scale", f"scale ×{s}", s) for s in (1.1, 1.2, 1.5)),
    *(("nulls", f"nulls +{s} points", s) for s in (2, 5, 10)),
    *(("category", f"new category {s}%", s) for s in (2, 5, 15)),
]


def number(rng: np.random.Generator, rows: int, shift: str = "", size: float = 0) -> pa.Array:
    """N(0, 1) with 5% nulls, with a location, scale or null-rate shift."""
    values = rng.normal(size if shift == "location" else 0, size if shift == "scale" else 1, rows)
    nulls = NULL_RATE + (size / 100 if shift == "nulls" else 0)
    return pa.array(values, mask=rng.random(rows) < nulls)


def category(rng: np.random.Generator, rows: int, new_share: float = 0) -> pa.Array:
    """Five values in fixed shares; ``new_share`` of the rows (in %) a value never seen."""
    codes = rng.choice(len(SHARES), rows, p=SHARES)
    codes[rng.random(rows) < new_share / 100] = len(SHARES)
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(CATEGORIES))


def flagged(profile: ColumnProfile, values: pa.Array, thresholds: DriftThresholds) -> bool:
    counts, nulls = profile.count(values)
    reference = Counts(np.asarray(profile.counts, dtype=np.int64), profile.nulls)
    return compare(reference, Counts(counts, nulls), profile.kind == "numeric",
                   thresholds).drifted


def one_seed(rows: int, seed: int, thresholds: DriftThresholds) -> dict[str, bool | int]:
    """Which planted shifts were flagged, and how many unshifted columns of each kind."""
    rng = np.random.default_rng([seed, rows])
    numbers = profile_column("x", pd.Series(number(rng, rows).to_numpy(zero_copy_only=False)))
    categories = profile_column("c", category(rng, rows).to_pandas().astype(object))
    found: dict[str, bool | int] = {}
    for kind, name, size in SHIFTS:
        if kind == "category":
            found[name] = flagged(categories, category(rng, rows, size), thresholds)
        else:
            found[name] = flagged(numbers, number(rng, rows, kind, size), thresholds)
    found["unshifted number"] = sum(flagged(numbers, number(rng, rows), thresholds)
                                    for _ in range(UNSHIFTED))
    found["unshifted category"] = sum(flagged(categories, category(rng, rows), thresholds)
                                      for _ in range(UNSHIFTED))
    return found


def table(seeds: int, sizes: list[int], thresholds: DriftThresholds) -> dict[str, Any]:
    """Share of seeds flagged per shift and size; false-positive shares per kind and size."""
    power: dict[str, dict[str, float]] = {name: {} for _, name, _ in SHIFTS}
    false: dict[str, dict[str, Any]] = {}
    for rows in sizes:
        started = time.monotonic()
        runs = [one_seed(rows, seed, thresholds) for seed in range(seeds)]
        for _, name, _ in SHIFTS:
            power[name][str(rows)] = round(sum(bool(r[name]) for r in runs) / seeds, 3)
        numbers = sum(int(r["unshifted number"]) for r in runs)
        categories = sum(int(r["unshifted category"]) for r in runs)
        false[str(rows)] = {"columns": 2 * UNSHIFTED * seeds, "flagged": numbers + categories,
                            "share": round((numbers + categories) / (2 * UNSHIFTED * seeds), 4),
                            "numbers_flagged": numbers, "categories_flagged": categories}
        print(f"{rows:>9} rows: {time.monotonic() - started:6.1f} s, false positives "
              f"{numbers + categories}/{2 * UNSHIFTED * seeds}", flush=True)
    return {"flagged_share": power, "false_positives": false}


def markdown(result: dict[str, Any]) -> str:
    """The table as the README shows it."""
    sizes = list(result["false_positives"])
    head = "| shift | " + " | ".join(f"{int(s):,}" for s in sizes) + " |"
    rule = "|---|" + "---:|" * len(sizes)
    lines = [head, rule] + [
        f"| {name} | " + " | ".join(f"{row[s]:.0%}" for s in sizes) + " |"
        for name, row in result["flagged_share"].items()]
    lines.append("| *unshifted columns flagged* | " + " | ".join(
        f"{f['flagged']}/{f['columns']}" for f in result["false_positives"].values()) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--alpha", type=float)
    parser.add_argument("--min-effect", type=float)
    parser.add_argument("--min-null-h", type=float)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    chosen = {"alpha": args.alpha, "min_effect": args.min_effect, "min_null_h": args.min_null_h}
    thresholds = DriftThresholds(**{k: v for k, v in chosen.items() if v is not None})
    load, started = harness.load_average(), time.monotonic()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    found = table(args.seeds, args.sizes, thresholds)
    result = {**harness.header("drift_power", load), "uptime_at_start": uptime,
              "seconds": round(time.monotonic() - started, 1), "seeds": args.seeds,
              "reference_rows": "the same as the window's", "null_rate": NULL_RATE,
              "thresholds": thresholds.model_dump(), **found, "markdown": markdown(found)}
    harness.write(result, args.out)
    print(result["markdown"])
    if args.out == RESULTS and MONITORING.exists():
        monitoring = json.loads(MONITORING.read_text())
        monitoring["power"] = {k: result[k] for k in (
            "created_at", "machine", "seeds", "reference_rows", "thresholds", "flagged_share",
            "false_positives")}
        MONITORING.write_text(json.dumps(monitoring, indent=2) + "\n")


if __name__ == "__main__":
    main()
