"""Benchmark: Shipyard's ingest vs the hand-written pandas + deltalake script it replaces, and
vs the floor of reading the table and writing it as Delta.

    python benchmarks/ingest.py [--rows 1000000] [--big-rows 10000000] [--runs 3]

An ``order_lines`` table of N rows is loaded into a throwaway PostgreSQL database. Then, in the
same run and each in a fresh process (so peak memory is per run), libraries imported before
the clock starts:

* **baseline**: what a user would otherwise write, ``pandas.read_sql`` of the table and
  ``deltalake.write_deltalake`` of the frame — RAW only, no validation;
* **adbc_floor**: the least any ingest does, ADBC's PostgreSQL driver fetching the table as
  Arrow and ``write_deltalake`` of it — RAW only, no validation, no CLEAN;
* **shipyard**: ``shipyard.ingest`` of the same table — staging, validation (schema, primary
  key, expectations, casts), RAW and CLEAN Delta tables, batch register.

Each round runs the three, each going first in turn; medians are reported with each round's
seconds, ``ratio`` (Shipyard rows/s ÷ pandas's), ``ratio_vs_adbc_floor`` (Shipyard seconds ÷
the floor's: above 1 is slower; goal ≤ 1.5) with its spread (the widest the ratio of medians
could be, and the ratios of the rounds), and the load average at the start and the end. The
large run (10M rows) is Shipyard only, to show its memory stays bounded; the baseline would
need the whole table in memory several times over. Figures go to
``benchmarks/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import harness

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
KINDS = ("baseline", "adbc_floor", "shipyard")


def peer(kind: str, url: str, table_url: str) -> tuple[float, int]:
    """A peer's script as a user writes it, timed from reading ``order_lines`` to the Delta
    table at ``table_url`` committed: its seconds and the rows it landed. ``pandas``:
    ``read_sql`` + ``write_deltalake``; ``floor``: ADBC → Arrow → ``write_deltalake``."""
    from deltalake import write_deltalake

    if kind == "pandas":
        import pandas as pd
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        start = time.perf_counter()
        frame = pd.read_sql("SELECT * FROM order_lines", engine)
        write_deltalake(table_url, frame, mode="overwrite")
        return time.perf_counter() - start, len(frame)
    import adbc_driver_postgresql.dbapi as adbc

    start = time.perf_counter()
    with adbc.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn, \
            conn.cursor() as cursor:
        cursor.execute("SELECT * FROM order_lines")
        table = cursor.fetch_arrow_table()
    write_deltalake(table_url, table, mode="overwrite")
    return time.perf_counter() - start, table.num_rows


def worker(kind: str, url: str, folder: Path, rows: int) -> dict[str, float]:
    if kind != "shipyard":
        seconds, landed = peer("pandas" if kind == "baseline" else "floor", url,
                               str(folder / "lake" / "raw" / "order_lines"))
        assert landed == rows, f"{kind} landed {landed} rows of {rows}"
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
    parser.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.url, args.dir, args.rows)))
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    load_at_start = harness.load_average()
    results: dict[str, object] = {}
    url = create_database(args.rows)
    try:
        runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
        for i in range(args.runs):
            for kind in harness.rotated(KINDS, i):
                console.print(f"[dim]{args.rows:,} rows · run {i + 1}/{args.runs} · {kind}[/]")
                runs[kind].append(measure(kind, url, args.rows))
                console.print(f"[dim]  {runs[kind][-1]['seconds']:.2f} s · load "
                              f"{harness.load_average()}[/]")
        ship, base, floor = (summarise(runs[kind], args.rows) for kind in
                             ("shipyard", "baseline", "adbc_floor"))
        ratio = ship["rows_per_s"] / base["rows_per_s"]
        memory = ship["peak_rss_mb"] / base["peak_rss_mb"]
        vs_floor = ship["median_s"] / floor["median_s"]
        results["rows_1m"] = {
            "measured_at": harness.now(), "rows": args.rows, "runs": args.runs,
            "shipyard": ship, "baseline": base, "adbc_floor": floor,
            "ratio": round(ratio, 2), "memory_ratio": round(memory, 2),
            "ratio_vs_adbc_floor": round(vs_floor, 2),
            "ratio_vs_adbc_floor_spread": harness.ratio_spread(ship["seconds"], floor["seconds"]),
            "ratio_vs_adbc_floor_rounds": [round(a["seconds"] / b["seconds"], 2) for a, b in zip(
                runs["shipyard"], runs["adbc_floor"], strict=True)],
            "baseline_vs_adbc_floor": round(base["median_s"] / floor["median_s"], 2),
            "what": "ratio: Shipyard rows/s ÷ pandas's (above 1: faster); ratio_vs_adbc_floor: "
                    "Shipyard seconds ÷ the floor's (above 1: slower); Shipyard also stages, "
                    "validates and writes CLEAN, the others write RAW only",
            "targets": {"ratio_ge_2": ratio >= 2, "memory_le_baseline": memory <= 1,
                        "ratio_vs_adbc_floor_le_1_5": vs_floor <= 1.5},
        }
    finally:
        drop_database(url)
    if args.big_rows:
        url = create_database(args.big_rows)
        try:
            console.print(f"[dim]{args.big_rows:,} rows · shipyard[/]")
            big = summarise([measure("shipyard", url, args.big_rows)], args.big_rows)
            results["rows_10m"] = {
                "measured_at": harness.now(), "rows": args.big_rows, "runs": 1, "shipyard": big,
                "targets": {"peak_under_1536_mb": big["peak_rss_mb"] < 1536},
            }
        finally:
            drop_database(url)
    # updated, not rewritten: a run without the big one (--big-rows 0) keeps the last
    # rows_10m, each entry dated by its own measured_at
    harness.update({**harness.header("ingest", load_at_start), **results}, args.out)

    table = Table(title="ingest benchmark (medians)")
    for column in ("rows", "tool", "rows/s", "seconds", "peak RSS MB"):
        table.add_column(column, justify="right")
    for key in ("rows_1m", "rows_10m"):
        if key in results:
            entry = results[key]
            for tool in KINDS:
                if tool in entry:
                    r = entry[tool]
                    table.add_row(f"{entry['rows']:,}", tool, f"{r['rows_per_s']:,.0f}",
                                  f"{r['median_s']:.2f}", f"{r['peak_rss_mb']:,.0f}")
    console.print(table)
    first = results["rows_1m"]
    console.print(f"speed ratio {first['ratio']}× (target ≥ 2), memory ratio "
                  f"{first['memory_ratio']} (target ≤ 1), {first['ratio_vs_adbc_floor']}× the "
                  f"ADBC floor's seconds (target ≤ 1.5); figures in {args.out}")


if __name__ == "__main__":
    main()
