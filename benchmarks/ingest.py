"""Benchmark: Shipyard's ingest vs the hand-written pandas + deltalake script it replaces.

    python benchmarks/ingest.py [--rows 1000000] [--big-rows 10000000] [--runs 3]

An ``order_lines`` table of N rows is loaded into a throwaway PostgreSQL database. Then, in the
same run and each in a fresh process (so peak memory is per run):

* **baseline**: what a user would otherwise write, ``pandas.read_sql`` of the table and
  ``deltalake.write_deltalake`` of the frame — RAW only, no validation;
* **shipyard**: ``shipyard.ingest`` of the same table — staging, validation (schema, primary
  key, expectations, casts), RAW and CLEAN Delta tables, batch register.

Runs alternate (baseline, shipyard, baseline, …) and the medians are reported. The large run
(10M rows) is Shipyard only, to show its memory stays bounded; the baseline would need the
whole table in memory several times over. Figures go to ``benchmarks/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ADMIN_URL = os.environ.get("SHIPYARD_BENCH_PG",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
RESULTS = Path(__file__).parent / "results" / "ingest.json"
CHUNK = 500_000

PROJECT_YAML = """\
project: bench
environments:
  dev: {{lake: lake}}
sources:
  erp: {{url: "{url}"}}
tables:
  order_lines:
    source: erp
    table: order_lines
    mode: incremental
    watermark: order_line_id
    primary_key: [order_line_id]
    clean:
      types: {{quantity: int32, unit_price: float64, discount: float64, order_date: date}}
    validation:
      expectations:
        quantity: {{not_null: true, min: 1}}
        discount: {{min: 0, max: 1}}
"""


# -- the database ---------------------------------------------------------------------------
def create_database(rows: int) -> str:
    """A new database holding ``rows`` order lines; returns its URL."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import sqlalchemy as sa
    from rich.progress import Progress

    name = f"shipyard_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE order_lines (order_line_id BIGINT PRIMARY KEY, order_id BIGINT, "
            "customer_id TEXT, product_id TEXT, order_date DATE, quantity INTEGER, "
            "unit_price DOUBLE PRECISION, discount DOUBLE PRECISION)"))
    rng = np.random.default_rng(42)
    raw = engine.raw_connection()
    with Progress(transient=True) as progress:
        task = progress.add_task(f"loading {rows:,} rows into PostgreSQL", total=rows)
        with raw.cursor() as cursor:
            for start in range(0, rows, CHUNK):
                n = min(CHUNK, rows - start)
                ids = np.arange(start + 1, start + n + 1)
                products = np.minimum(rng.zipf(1.3, n), 5000)
                table = pa.table({
                    "order_line_id": ids,
                    "order_id": ids // 3,
                    "customer_id": pa.array(np.char.add("C", np.char.zfill(
                        rng.integers(1, 20_000, n).astype(str), 5))),
                    "product_id": pa.array(np.char.add("P", np.char.zfill(
                        products.astype(str), 5))),
                    "order_date": pa.array(np.datetime64("2025-11-01")
                                           + rng.integers(0, 365, n).astype("timedelta64[D]")),
                    "quantity": 1 + rng.poisson(2.0, n),
                    "unit_price": np.round(rng.lognormal(3.0, 0.8, n), 2),
                    "discount": np.round(rng.beta(2, 20, n), 3),
                })
                buffer = io.BytesIO()
                pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
                with cursor.copy("COPY order_lines FROM STDIN WITH (FORMAT csv)") as copy:
                    copy.write(buffer.getvalue())
                progress.advance(task, n)
        raw.commit()
    raw.close()
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE order_lines"))
    engine.dispose()
    return url


def drop_database(url: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


# -- one measured run, in its own process ---------------------------------------------------
def worker(kind: str, url: str, folder: Path, rows: int) -> dict[str, float]:
    if kind == "baseline":
        import pandas as pd
        import sqlalchemy as sa
        from deltalake import write_deltalake

        engine = sa.create_engine(url)
        start = time.perf_counter()
        frame = pd.read_sql("SELECT * FROM order_lines", engine)
        write_deltalake(str(folder / "lake" / "raw" / "order_lines"), frame, mode="overwrite")
        seconds = time.perf_counter() - start
        assert len(frame) == rows
    else:
        from shipyard import Project, ingest

        (folder / "shipyard.yaml").write_text(PROJECT_YAML.format(url=url))
        project = Project.open(folder)
        start = time.perf_counter()
        result = ingest(project, ["order_lines"])
        seconds = time.perf_counter() - start
        (outcome,) = result.outcomes
        assert outcome.status == "landed" and outcome.batch.rows == rows, outcome
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_rss_mb": peak_kib / 1024}


def measure(kind: str, url: str, rows: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as folder:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", kind, "--url", url, "--dir", folder,
             "--rows", str(rows)],
            capture_output=True, text=True, check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict[str, float]], rows: int) -> dict[str, object]:
    seconds = [r["seconds"] for r in runs]
    return {
        "rows_per_s": rows / statistics.median(seconds),
        "seconds": [round(s, 3) for s in seconds],
        "median_s": round(statistics.median(seconds), 3),
        "peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in runs), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="0 skips the big run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", choices=["shipyard", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.url, args.dir, args.rows)))
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    results: dict[str, object] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    url = create_database(args.rows)
    try:
        runs: dict[str, list[dict[str, float]]] = {"baseline": [], "shipyard": []}
        for i in range(args.runs):
            for kind in ("baseline", "shipyard"):
                console.print(f"[dim]{args.rows:,} rows · run {i + 1}/{args.runs} · {kind}[/]")
                runs[kind].append(measure(kind, url, args.rows))
        ship, base = summarise(runs["shipyard"], args.rows), summarise(runs["baseline"], args.rows)
        ratio = ship["rows_per_s"] / base["rows_per_s"]
        memory = ship["peak_rss_mb"] / base["peak_rss_mb"]
        results["rows_1m"] = {
            "rows": args.rows, "runs": args.runs, "shipyard": ship, "baseline": base,
            "ratio": round(ratio, 2), "memory_ratio": round(memory, 2),
            "targets": {"ratio_ge_2": ratio >= 2, "memory_le_baseline": memory <= 1},
        }
    finally:
        drop_database(url)
    if args.big_rows:
        url = create_database(args.big_rows)
        try:
            console.print(f"[dim]{args.big_rows:,} rows · shipyard[/]")
            big = summarise([measure("shipyard", url, args.big_rows)], args.big_rows)
            results["rows_10m"] = {
                "rows": args.big_rows, "runs": 1, "shipyard": big,
                "targets": {"peak_under_1536_mb": big["peak_rss_mb"] < 1536},
            }
        finally:
            drop_database(url)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")

    table = Table(title="ingest benchmark (medians)")
    for column in ("rows", "tool", "rows/s", "seconds", "peak RSS MB"):
        table.add_column(column, justify="right")
    for key in ("rows_1m", "rows_10m"):
        if key in results:
            entry = results[key]
            for tool in ("baseline", "shipyard"):
                if tool in entry:
                    r = entry[tool]
                    table.add_row(f"{entry['rows']:,}", tool, f"{r['rows_per_s']:,.0f}",
                                  f"{r['median_s']:.2f}", f"{r['peak_rss_mb']:,.0f}")
    console.print(table)
    first = results["rows_1m"]
    console.print(f"speed ratio {first['ratio']}× (target ≥ 2), memory ratio "
                  f"{first['memory_ratio']} (target ≤ 1); figures in {args.out}")


if __name__ == "__main__":
    main()
