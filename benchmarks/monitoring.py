"""Benchmark: Shipyard's skew and drift checks vs Evidently's ``DataDriftPreset``.

    python benchmarks/monitoring.py [--rows 1000000] [--big-rows 10000000] [--small-rows 1000]
                                    [--runs 3] [--big-runs 1] [--out FILE]

Two data sets, seeded: the Titanic features (pclass, sex, age, sibsp, parch, fare) and a
synthetic 50-column variant. For each, three samples of N rows: the *training* rows (the
reference profile is built from them, as registration does), the *previous* window and the
*current* window, where four columns carry a planted shift — location, scale, a new category,
missing values — and the others none. Both windows go to a prediction log (a Delta table in
the format the server writes; :func:`write_log`) and to Parquet files, so both tools read the
same rows:

* **shipyard**: :func:`shipyard.monitoring.measure`, the work of ``shipyard monitor drift``
  once the model is known: reads the log in Arrow batches, skew (current window vs the
  profile) *and* drift (current vs previous window);
* **evidently**: ``Report([DataDriftPreset()])`` on the previous window (reference) vs the
  current one as pandas frames read from the Parquet files — one comparison, so Evidently does
  half the work. Evidently runs in its own virtualenv (``benchmarks/.venvs/evidently``, made
  on first use with the pinned version), never a dependency of Shipyard.

Each measurement is a fresh process (peak RSS from ``getrusage`` in the child, libraries
imported before the clock starts); runs alternate and medians are reported. The verdict of
every column under each tool is kept, at N rows and at ``--small-rows``. Last, Shipyard alone
on ``--rows`` and ``--big-rows`` logged rows, to show its memory stays flat
(``--memory-only`` runs just that part and updates its keys). Beside the report-to-report
ratio, two more (``--honest-only`` runs just them): ``ratio_vs_evidently_cli``, the whole
``shipyard monitor drift MODEL`` command in a fresh process against a whole Evidently script
doing the same (read the windows, ``DataDriftPreset``, the report saved as HTML), and
``ratio_vs_evidently_tests``, Shipyard's tests (the library call) against Evidently's drift
tests without its report; each with CPU seconds and the load average. Figures go to
``benchmarks/results/monitoring.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "monitoring.json"
EVIDENTLY = ["evidently==0.7.23", "pandas==2.3.3", "pyarrow==22.0.0"]
"""Pinned: Evidently 0.7.23 does not import under pandas 3."""
EVIDENTLY_VENV = Path(os.environ.get("SHIPYARD_BENCH_VENVS",
                                    Path(tempfile.gettempdir()) / "shipyard-bench-venvs")) / "evidently"
MODEL = "titanic"
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
DAY = timedelta(days=1)
CHUNK = 250_000
"""Rows per append to the log (the server appends at most 5,000 per second)."""


# -- the prediction log: the one function that knows its format -------------------------------
def write_log(lake: Path, when: datetime, inputs: Any, outputs: Any,
              rows_per_file: int | None = None) -> None:
    """Append rows (``inputs`` a pyarrow Table of model inputs, ``outputs`` the predicted
    probabilities) to the model's prediction log as served at ``when`` by version 1, in the
    layout of :mod:`shipyard.monitoring.logschema` (one typed column per input, partitioned
    by day) that :class:`shipyard.serving.predlog.PredictionLog` writes. The server's writer
    builds its tables from Python dicts, 5,000 rows per append; here whole Arrow columns are
    appended, so that ten million rows take seconds. With ``rows_per_file``, the rows land in
    files of that many rows, as a server appending every second leaves them (a day's traffic
    in thousands of files; :func:`_append_files`)."""
    import pyarrow as pa
    from deltalake import write_deltalake

    from shipyard.monitoring.logschema import input_column, prediction_schema, predictions_path

    n = inputs.num_rows
    signature = [(name, "double" if pa.types.is_floating(kind) else
                  "long" if pa.types.is_integer(kind) else "string", False)
                 for name, kind in zip(inputs.column_names, inputs.schema.types, strict=True)]
    probability = pa.array(outputs, type=pa.float64())
    columns = {"time": pa.array([when] * n, type=pa.timestamp("us", tz="UTC")),
               "day": pa.array([when.date().isoformat()] * n),
               "request_id": pa.array([f"bench-{i}" for i in range(n)]),
               "version": pa.array([1] * n, type=pa.int64()),
               "row": pa.array([0] * n, type=pa.int32()), "probability": probability,
               "prediction": pa.array((probability.to_numpy() >= 0.5).astype("int64")),
               "latency_ms": pa.array([1.0] * n, type=pa.float64()),
               "status": pa.array([200] * n, type=pa.int32()),
               **{input_column(name): inputs.column(name) for name in inputs.column_names}}
    table = pa.table(columns).cast(prediction_schema(signature))
    path = predictions_path(str(lake), MODEL)
    if rows_per_file is None:
        write_deltalake(path, table, mode="append", partition_by=["day"])
    else:
        _append_files(path, table, rows_per_file, when)


def _append_files(path: str, table: Any, rows_per_file: int, when: datetime) -> None:
    """Append ``table`` (rows of one day) as files of ``rows_per_file`` rows, 100 files to a
    commit: the files a server appending every second leaves, without the minutes that one
    Delta commit per file would take to write (a reader replays the adds from the log's
    checkpoint either way). Each file carries the ``time`` statistics Delta's writer keeps."""
    import json as jsonlib
    import uuid

    import pyarrow.parquet as pq
    from deltalake import DeltaTable, write_deltalake
    from deltalake.transaction import AddAction

    write_deltalake(path, table.slice(0, rows_per_file), mode="append", partition_by=["day"])
    day = when.date().isoformat()
    folder = Path(path) / f"day={day}"
    data = table.drop_columns(["day"])
    actions = []
    for start in range(rows_per_file, table.num_rows, rows_per_file):
        part = data.slice(start, rows_per_file)
        name = f"part-{uuid.uuid4()}.parquet"
        pq.write_table(part, folder / name)
        actions.append(AddAction(f"day={day}/{name}", (folder / name).stat().st_size,
                                 {"day": day}, int(time.time() * 1000), True,
                                 jsonlib.dumps(_statistics(part))))
        if len(actions) == 100 or start + rows_per_file >= table.num_rows:
            DeltaTable(path).create_write_transaction(actions, "append", table.schema,
                                                      partition_by=["day"])
            actions = []


def _statistics(part: Any) -> dict[str, Any]:
    """A file's Delta statistics as Delta's writer keeps them: a column without them would be
    read as unknown, and a reader's filter would skip the file."""
    import pyarrow as pa
    import pyarrow.compute as pc

    low: dict[str, Any] = {}
    high: dict[str, Any] = {}
    for name, column in zip(part.column_names, part.columns, strict=True):
        found = pc.min_max(column)
        for side, value in ((low, found["min"]), (high, found["max"])):
            if value.is_valid:
                side[name] = (value.as_py().strftime("%Y-%m-%dT%H:%M:%SZ")
                              if pa.types.is_timestamp(column.type) else value.as_py())
    return {"numRecords": part.num_rows, "minValues": low, "maxValues": high,
            "nullCount": {name: column.null_count
                          for name, column in zip(part.column_names, part.columns, strict=True)}}


# -- the data ----------------------------------------------------------------------------------
PLANTED = {
    "titanic": {"age": "location", "fare": "scale", "pclass": "new category",
                "sibsp": "missing values"},
    "wide50": {"x00": "location", "x01": "scale", "c00": "new category",
               "x02": "missing values"},
}
WIDE_NUMERIC, WIDE_CATEGORICAL = 38, 12


def sample(variant: str, rows: int, seed: int, shifted: bool) -> Any:
    """``rows`` seeded rows of ``variant`` as a pyarrow Table (nulls as nulls), with the
    planted shifts when ``shifted``: location +0.5 sd, spread ×1.6, 15% of rows in a category
    the reference never had, 25% of values missing."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)

    def nulls(share: float) -> Any:
        return rng.random(rows) < share

    def categories(values: list[str], p: list[float], new: str | None) -> Any:
        drawn = rng.choice(np.array(values, dtype=object), rows, p=p)
        if new is not None:
            drawn[rng.random(rows) < 0.15] = new
        return pa.array(drawn, type=pa.string())

    if variant == "titanic":
        z = rng.standard_normal(rows)
        age = np.clip(29.7 + 14.5 * (z + (0.5 if shifted else 0.0)), 0.2, 80.0).round(1)
        fare = np.exp(2.9 + (1.6 if shifted else 1.0) * rng.standard_normal(rows)).round(2)
        sibsp = rng.choice(np.arange(6), rows, p=[0.68, 0.23, 0.04, 0.02, 0.02, 0.01])
        return pa.table({
            "pclass": categories(["1st", "2nd", "3rd"], [0.25, 0.21, 0.54],
                                 "crew" if shifted else None),
            "sex": categories(["female", "male"], [0.36, 0.64], None),
            "age": pa.array(age, mask=nulls(0.2)),
            "sibsp": pa.array(sibsp, mask=nulls(0.25) if shifted else None),
            "parch": pa.array(rng.choice(np.arange(5), rows, p=[0.76, 0.13, 0.09, 0.01, 0.01])),
            "fare": pa.array(fare),
        })
    columns: dict[str, Any] = {}
    for i in range(WIDE_NUMERIC):
        mean, sd = 10.0 * (i % 7), 1.0 + i % 5
        z = rng.standard_normal(rows)
        if shifted and i == 0:
            z = z + 0.5
        if shifted and i == 1:
            z = z * 1.6
        mask = nulls(0.25) if shifted and i == 2 else None
        columns[f"x{i:02d}"] = pa.array((mean + sd * z).round(3), mask=mask)
    for i in range(WIDE_CATEGORICAL):
        levels = [f"level{j}" for j in range(3 + i % 6)]
        weights = np.arange(len(levels), 0, -1, dtype=float)
        columns[f"c{i:02d}"] = categories(levels, list(weights / weights.sum()),
                                          "unseen" if shifted and i == 0 else None)
    return pa.table(columns)


def outputs(rows: int, seed: int) -> Any:
    """The logged positive-class probabilities: the same distribution in every window."""
    import numpy as np

    return np.random.default_rng(seed).beta(2.0, 3.0, rows)


def prepare(folder: Path, variant: str, rows: int, *, parquet: bool,
            rows_per_file: int | None = None) -> None:
    """The profile, the log of both windows (and their Parquet copies) of ``rows`` rows each;
    with ``rows_per_file``, both the log and the copies (a folder each) in files of that many
    rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from shipyard.train.profile import build_profile

    folder.mkdir(parents=True, exist_ok=True)
    seeds = {"titanic": 100, "wide50": 200}[variant]
    training = sample(variant, min(rows, 1_000_000), seeds, shifted=False)
    profile = build_profile(training.to_pandas(), outputs(min(rows, 1_000_000), seeds + 1))
    (folder / "profile.json").write_text(profile.to_json())
    del training
    for name, when, shifted, seed in (("previous", NOW - 1.5 * DAY, False, seeds + 10),
                                      ("current", NOW - 0.5 * DAY, True, seeds + 20)):
        writer = None
        for part, start in enumerate(range(0, rows, CHUNK)):
            n = min(CHUNK, rows - start)
            chunk = sample(variant, n, seed + part, shifted)
            scores = outputs(n, seed + part + 5)
            write_log(folder / "lake", when, chunk, scores, rows_per_file)
            chunk = chunk.append_column("prediction", pa.array(scores))
            if parquet and rows_per_file is not None:
                (folder / f"{name}.parquet").mkdir(exist_ok=True)
                for first in range(0, n, rows_per_file):
                    pq.write_table(chunk.slice(first, rows_per_file),
                                   folder / f"{name}.parquet" / f"{start + first:09d}.parquet")
            elif parquet:
                if writer is None:
                    writer = pq.ParquetWriter(folder / f"{name}.parquet", chunk.schema)
                writer.write_table(chunk)
            print(f"  {variant}: {name} window {start + n:,}/{rows:,} rows logged", flush=True)
        if writer is not None:
            writer.close()


# -- one measured run, in its own process ------------------------------------------------------
def peak_mb() -> float:
    """This process's peak RSS. Linux's ``ru_maxrss`` survives ``exec``, so a child started by
    a large parent would report the parent's size: the kernel's ``VmHWM`` (reset by ``exec``)
    is read instead where there is one."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """CPU seconds of this process, all threads: steadier than the clock on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_shipyard(folder: Path) -> dict[str, Any]:
    from shipyard.config.schema import MonitoringSettings
    from shipyard.monitoring import measure
    from shipyard.monitoring.logged import LoggedPredictions
    from shipyard.monitoring.window import Window
    from shipyard.train.profile import ReferenceProfile

    start, cpu = time.perf_counter(), cpu_s()
    profile = ReferenceProfile.from_json((folder / "profile.json").read_text())
    report = measure(LoggedPredictions(str(folder / "lake"), None, MODEL), profile, 1,
                     Window.of(DAY, now=NOW), MonitoringSettings())
    seconds = time.perf_counter() - start
    verdicts: dict[str, dict[str, bool]] = {}
    for result in report.results:
        verdicts.setdefault(result.column, {})[result.kind] = bool(result.test.drifted)
    return {"seconds": seconds, "cpu_s": cpu_s() - cpu, "peak_mb": peak_mb(), "rows": report.rows,
            "previous_rows": report.previous_rows, "verdicts": verdicts}


def run_evidently(folder: Path) -> dict[str, Any]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    start, cpu = time.perf_counter(), cpu_s()
    reference, current, numeric = _evidently_frames(folder)
    loaded = time.perf_counter()
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=[
        c for c in current.columns if c not in numeric])
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition))
    result = snapshot.dict()
    seconds = time.perf_counter() - start
    verdicts = {}
    for metric in result["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("ValueDrift"):
            threshold, method = config.get("threshold"), config.get("method", "")
            value = float(metric["value"])
            # a p-value drifts below the threshold, a distance above it
            drifted = value < threshold if "p_value" in method else value >= threshold
            verdicts[config["column"]] = {"drift": drifted, "method": method, "value": value,
                                          "threshold": threshold}
    return {"seconds": seconds, "cpu_s": cpu_s() - cpu, "load_seconds": loaded - start,
            "peak_mb": peak_mb(),
            "verdicts": verdicts}


def _evidently_frames(folder: Path) -> tuple[Any, Any, list[str]]:
    """The previous (reference) and current windows as Evidently reads them, and which of
    their columns are numbers."""
    import pandas as pd

    reference = pd.read_parquet(folder / "previous.parquet")
    current = pd.read_parquet(folder / "current.parquet")
    numeric = [c for c in current.columns if pd.api.types.is_numeric_dtype(reference[c])]
    return reference, current, numeric


def run_evidently_tests(folder: Path) -> dict[str, Any]:
    """Evidently's drift tests without its report: per column, the test ``DataDriftPreset``
    picks (``get_stattest`` with no override) on the non-missing values, as its drift
    calculation does; no snapshot, no rendering."""
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    start, cpu = time.perf_counter(), cpu_s()
    reference, current, numeric = _evidently_frames(folder)
    verdicts = {}
    for column in current.columns:
        kind = ColumnType.Numerical if column in numeric else ColumnType.Categorical
        ours, theirs = reference[column].dropna(), current[column].dropna()
        test = get_stattest(ours, theirs, kind, None)
        found = test(ours, theirs, kind, None)
        verdicts[column] = {"drift": bool(found.drifted), "method": test.name,
                            "value": float(found.drift_score)}
    return {"seconds": time.perf_counter() - start, "cpu_s": cpu_s() - cpu,
            "peak_mb": peak_mb(), "verdicts": verdicts}


def run_evidently_script(folder: Path) -> dict[str, Any]:
    """What a user's Evidently script does: read the windows, run ``DataDriftPreset``, save
    the report as HTML. Timed from outside, as a whole process (:func:`whole_command`)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    reference, current, numeric = _evidently_frames(folder)
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=[
        c for c in current.columns if c not in numeric])
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition))
    snapshot.save_html(str(folder / "evidently-report.html"))
    return {"peak_mb": peak_mb()}


def child(tool: str, folder: Path) -> dict[str, Any]:
    """One run of ``tool`` on ``folder`` in a fresh process (the Evidently venv's Python for
    Evidently), its JSON answer; a run that fails answers ``{"error": its last line}``."""
    python = str(evidently_python()) if tool.startswith("evidently") else sys.executable
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")} if tool == "shipyard" \
        else {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([python, __file__, "--child", tool, "--folder", str(folder)],
                          capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr, flush=True)
        lines = [line for line in done.stderr.splitlines() if "Error" in line or "Exception" in line]
        return {"error": lines[-1].strip() if lines else f"exit {done.returncode}"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def evidently_python() -> Path:
    """The Python of Evidently's own virtualenv, created with the pinned version if missing."""
    python = EVIDENTLY_VENV / "bin" / "python"
    stamp = EVIDENTLY_VENV / f".installed-{'-'.join(EVIDENTLY)}"
    if not stamp.exists():
        print(f"creating {EVIDENTLY_VENV} with {' '.join(EVIDENTLY)} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(EVIDENTLY_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *EVIDENTLY],
                       check=True)
        stamp.touch()
    return python


def version_of(python: Path, package: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    found = subprocess.run([str(python), "-c", code],
                           capture_output=True, text=True, check=True)
    return found.stdout.strip()


# -- the comparison ----------------------------------------------------------------------------
def verdict_table(variant: str, ours: dict[str, Any] | None, theirs: dict[str, Any] | None
                  ) -> dict[str, Any]:
    """Per column: what was planted, Shipyard's skew and drift verdicts, Evidently's (None
    where a tool failed)."""
    planted = PLANTED[variant]
    names = list((ours or theirs or {"verdicts": {}})["verdicts"])
    table = {}
    for column in names:
        kinds = (ours or {"verdicts": {}})["verdicts"].get(column, {})
        table[column] = {"planted": planted.get(column),
                         "shipyard_skew": kinds.get("skew"), "shipyard_drift": kinds.get("drift"),
                         "evidently": None if theirs is None
                         else theirs["verdicts"].get(column, {}).get("drift")}

    def score(key: str) -> dict[str, Any]:
        found = [c for c in planted if table.get(c, {}).get(key)]
        flagged = [c for c, row in table.items() if row["planted"] is None and row[key]]
        return {"planted_found": f"{len(found)}/{len(planted)}", "missed":
                sorted(set(planted) - set(found)), "unshifted_flagged": sorted(flagged),
                "unshifted": sum(row["planted"] is None for row in table.values())}

    keys = (["shipyard_skew", "shipyard_drift"] if ours is not None else []) + (
        ["evidently"] if theirs is not None else [])
    return {"columns": table, "summary": {key: score(key) for key in keys}}


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    return round(statistics.median(r[key] for r in runs), 3) if runs else None


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return round(top / bottom, 2) if top is not None and bottom else None


def compare(work: Path, variant: str, rows: int, runs: int,
            rows_per_file: int | None = None) -> dict[str, Any]:
    """Alternating runs of both tools on the same ``rows``-row windows (in files of
    ``rows_per_file`` rows, for both tools, when given); a tool that fails stops the repeats
    (its error is kept, the other's figures too)."""
    folder = work / f"{variant}-{rows}{f'-in-{rows_per_file}' if rows_per_file else ''}"
    print(f"{variant}, {rows:,} rows per window: writing the log and the Parquet files",
          flush=True)
    prepare(folder, variant, rows, parquet=True, rows_per_file=rows_per_file)
    done: dict[str, list[dict[str, Any]]] = {"shipyard": [], "evidently": []}
    errors: dict[str, str] = {}
    for i in range(runs):
        for tool, answers in done.items():
            answer = child(tool, folder)
            if "error" in answer:
                errors[tool] = answer["error"]
                print(f"  run {i + 1}/{runs} {tool}: FAILED: {answer['error']}", flush=True)
                continue
            answers.append(answer)
            print(f"  run {i + 1}/{runs} {tool}: {answer['seconds']:.2f} s "
                  f"({answer['cpu_s']:.2f} s CPU), peak {answer['peak_mb']:.0f} MB", flush=True)
        if errors:
            break
    ours, theirs = done["shipyard"], done["evidently"]
    shipyard_s, evidently_s = _median(ours, "seconds"), _median(theirs, "seconds")
    shipyard_cpu, evidently_cpu = _median(ours, "cpu_s"), _median(theirs, "cpu_s")
    return {
        "rows_per_window": rows, "logged_rows": 2 * rows, "runs": max(map(len, done.values())),
        "rows_per_file": rows_per_file or CHUNK, "load_average_at_end": list(os.getloadavg()),
        "columns": len((ours or theirs)[0]["verdicts"]) - 1 if ours or theirs else None,
        "shipyard_s": shipyard_s, "evidently_s": evidently_s,
        "evidently_report_s": round(statistics.median(
            r["seconds"] - r["load_seconds"] for r in theirs), 3) if theirs else None,
        "ratio_vs_evidently": _ratio(evidently_s, shipyard_s),
        "shipyard_cpu_s": shipyard_cpu, "evidently_cpu_s": evidently_cpu,
        "ratio_vs_evidently_cpu": _ratio(evidently_cpu, shipyard_cpu),
        "peak_mb": _median(ours, "peak_mb"), "evidently_peak_mb": _median(theirs, "peak_mb"),
        "shipyard_runs_s": [round(r["seconds"], 3) for r in ours],
        "evidently_runs_s": [round(r["seconds"], 3) for r in theirs],
        "errors": errors,
        "verdicts": verdict_table(variant, ours[-1] if ours else None,
                                  theirs[-1] if theirs else None),
    }


def memory(work: Path, rows: int, big_rows: int, runs: int) -> dict[str, Any]:
    """Shipyard alone on ``rows`` and on ``big_rows`` rows per window, ``runs`` alternating
    runs each: the peak must not grow with the log. The 1M run here is Shipyard's alone (no
    Evidently run beside it), so both peaks come from the same conditions."""
    folders = {n: work / f"titanic-{n}" for n in (rows, big_rows)}
    for n, folder in folders.items():
        if not (folder / "profile.json").exists():  # compare() may have written it already
            print(f"titanic, {n:,} rows per window: Shipyard alone", flush=True)
            prepare(folder, "titanic", n, parquet=False)
    answers: dict[int, list[dict[str, Any]]] = {n: [] for n in folders}
    # the machine is shared: wall seconds depend on its load, CPU seconds much less
    found: dict[str, Any] = {"memory_load_avg": round(os.getloadavg()[0], 1)}
    for i in range(runs):
        for n, folder in folders.items():
            answer = child("shipyard", folder)
            if "error" in answer:
                found["error_10m"] = answer["error"]
                print(f"  run {i + 1}/{runs} shipyard, {n:,} rows: FAILED", flush=True)
                continue
            answers[n].append(answer)
            print(f"  run {i + 1}/{runs} shipyard, {n:,} rows: {answer['seconds']:.2f} s, "
                  f"peak {answer['peak_mb']:.0f} MB", flush=True)
    big, small = answers[big_rows], answers[rows]
    found.update({
        "big_rows_per_window": big_rows, "big_runs": len(big),
        "shipyard_s_10m": _median(big, "seconds"), "peak_mb_10m": _median(big, "peak_mb"),
        "shipyard_cpu_s_10m": _median(big, "cpu_s"),
        "peak_mb_1m_alone": _median(small, "peak_mb"),
        "shipyard_s_1m_alone": _median(small, "seconds"),
        "shipyard_cpu_s_1m_alone": _median(small, "cpu_s"),
        "peak_mb_10m_runs": [round(a["peak_mb"], 1) for a in big],
        "peak_mb_1m_alone_runs": [round(a["peak_mb"], 1) for a in small],
        "memory_date": datetime.now(UTC).isoformat(timespec="seconds"),
    })
    found["peak_ratio_10m_vs_1m"] = _ratio(found["peak_mb_10m"], found["peak_mb_1m_alone"])
    return found


def fragmented(work: Path, rows: int, runs: int, rows_per_file: int) -> dict[str, Any]:
    """Both tools on windows of ``rows`` rows in files of ``rows_per_file`` rows: the log as
    a server appending every second writes it (1M rows: 5,000 files a window), and Evidently
    reading the same files."""
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
    found = compare(work, "titanic", rows, runs, rows_per_file)
    found["uptime_at_start"] = uptime.stdout.strip()
    return {"titanic_fragmented": found,
            "ratio_vs_evidently_fragmented": found["ratio_vs_evidently"],
            "ratio_vs_evidently_cpu_fragmented": found["ratio_vs_evidently_cpu"]}


def cli_project(folder: Path) -> Path:
    """A project whose dev environment holds ``folder``'s log and a registry in which
    version 1 of the model carries ``folder``'s profile, as registration leaves it: what
    ``shipyard monitor drift MODEL`` needs to run on the benchmark's rows."""
    import shutil

    from mlflow import MlflowClient

    from shipyard.train.profile import PROFILE_FILE

    project = folder / "project"
    model = project / "model"
    (model / "extra_files").mkdir(parents=True, exist_ok=True)
    shutil.copy(folder / "profile.json", model / "extra_files" / PROFILE_FILE)
    tracking = f"sqlite:///{project / 'mlflow.db'}"
    (project / "shipyard.yaml").write_text(
        f"project: bench\nenvironments:\n  dev:\n    lake: {folder / 'lake'}\n"
        f"    tracking_uri: {tracking}\n")
    client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    client.create_registered_model(MODEL)
    client.create_model_version(MODEL, str(model), tags={"shipyard.flavor": "sklearn"})
    return project


def whole_command(tool: str, folder: Path, project: Path) -> dict[str, Any]:
    """One whole command in a fresh process, timed from outside (interpreter start, imports,
    reading, testing, the report written): ``shipyard monitor drift MODEL`` over the current
    window, or the Evidently script doing the same (:func:`run_evidently_script`). CPU
    seconds are the child's, from ``getrusage``."""
    if tool == "shipyard":
        command = [sys.executable, "-m", "shipyard", "monitor", "drift", MODEL, "--window", "1d",
                   "--since", (NOW - DAY).isoformat(), "--project", str(project)]
        env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src"), "COLUMNS": "120"}
    else:
        command = [str(evidently_python()), __file__, "--child", "evidently_script",
                   "--folder", str(folder)]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-3000:], file=sys.stderr, flush=True)
        return {"error": f"{tool}: exit {done.returncode}"}
    return {"seconds": seconds, "cpu_s": (after.ru_utime - before.ru_utime)
            + (after.ru_stime - before.ru_stime)}


def honest(work: Path, rows: int, runs: int) -> dict[str, Any]:
    """The whole command against a whole Evidently script, and Shipyard's tests (the library
    call of ``monitor drift``) against Evidently's tests without its report, on the Titanic
    windows of ``rows`` rows; ``runs`` alternating runs of each, medians, the load beside."""
    folder = work / f"titanic-{rows}"
    if not (folder / "profile.json").exists():
        print(f"titanic, {rows:,} rows per window: writing the log and the Parquet files",
              flush=True)
        prepare(folder, "titanic", rows, parquet=True)
    project = cli_project(folder)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
    found: dict[str, Any] = {"rows_per_window": rows, "uptime_at_start": uptime.stdout.strip()}
    pairs = {"cli": (lambda: whole_command("shipyard", folder, project),
                     lambda: whole_command("evidently", folder, project)),
             "tests": (lambda: child("shipyard", folder),
                       lambda: child("evidently_tests", folder))}
    for name, (ours, theirs) in pairs.items():
        done: dict[str, list[dict[str, Any]]] = {"shipyard": [], "evidently": []}
        loads = []
        for i in range(runs):
            for tool, measure_once in (("shipyard", ours), ("evidently", theirs)):
                answer = measure_once()
                if "error" in answer:
                    raise SystemExit(f"{name} run {i + 1}, {tool}: {answer['error']}")
                done[tool].append(answer)
                print(f"  {name} run {i + 1}/{runs} {tool}: {answer['seconds']:.2f} s "
                      f"({answer['cpu_s']:.2f} s CPU)", flush=True)
            loads.append(round(os.getloadavg()[0], 2))
        ship, evid = done["shipyard"], done["evidently"]
        found[name] = {
            "runs": runs, "load_average_after_each_run": loads,
            "shipyard_s": _median(ship, "seconds"), "evidently_s": _median(evid, "seconds"),
            "shipyard_cpu_s": _median(ship, "cpu_s"), "evidently_cpu_s": _median(evid, "cpu_s"),
            "shipyard_runs_s": [round(r["seconds"], 3) for r in ship],
            "evidently_runs_s": [round(r["seconds"], 3) for r in evid],
            "ratio": _ratio(_median(evid, "seconds"), _median(ship, "seconds")),
            "ratio_cpu": _ratio(_median(evid, "cpu_s"), _median(ship, "cpu_s")),
        }
        if name == "tests":
            found[name]["verdicts"] = verdict_table("titanic", ship[-1], evid[-1])
    found["uptime_at_end"] = subprocess.run(["uptime"], capture_output=True, text=True,
                                            check=False).stdout.strip()
    return {"honest": found,
            "ratio_vs_evidently_cli": found["cli"]["ratio"],
            "ratio_vs_evidently_cli_cpu": found["cli"]["ratio_cpu"],
            "ratio_vs_evidently_tests": found["tests"]["ratio"],
            "ratio_vs_evidently_tests_cpu": found["tests"]["ratio_cpu"],
            "honest_load_average": found["cli"]["load_average_after_each_run"]
            + found["tests"]["load_average_after_each_run"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per window")
    parser.add_argument("--big-rows", type=int, default=10_000_000,
                        help="rows per window of the Shipyard-only memory run (0: skip)")
    parser.add_argument("--small-rows", type=int, default=1_000,
                        help="rows per window of the small verdict run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big-runs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--memory-only", action="store_true",
                        help="only the memory runs (--rows and --big-rows, Shipyard alone); "
                             "their keys are updated in --out, the rest kept")
    parser.add_argument("--rows-per-file", type=int, default=200,
                        help="rows per file of the fragmented log (a server appending every "
                             "second); 0: skip that comparison")
    parser.add_argument("--fragmented-only", action="store_true",
                        help="only the fragmented-log comparison; its keys are updated in "
                             "--out, the rest kept")
    parser.add_argument("--honest-only", action="store_true",
                        help="only the whole command against a whole Evidently script, and "
                             "the tests against Evidently's tests; their keys are updated in "
                             "--out, the rest kept")
    parser.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.folder)))
        return

    if args.memory_only:
        kept = json.loads(args.out.read_text()) if args.out.exists() else {}
        with tempfile.TemporaryDirectory(prefix="shipyard-bench-monitoring-") as tmp:
            kept.update(memory(Path(tmp), args.rows, args.big_rows, args.big_runs))
        args.out.write_text(json.dumps(kept, indent=2) + "\n")
        print(json.dumps({k: v for k, v in kept.items() if "10m" in k or "1m" in k}, indent=2))
        return
    if args.honest_only:
        kept = json.loads(args.out.read_text()) if args.out.exists() else {}
        with tempfile.TemporaryDirectory(prefix="shipyard-bench-monitoring-") as tmp:
            kept.update(honest(Path(tmp), args.rows, args.runs))
        args.out.write_text(json.dumps(kept, indent=2) + "\n")
        print(json.dumps({k: v for k, v in kept["honest"].items() if k != "tests"}, indent=2))
        return
    if args.fragmented_only:
        kept = json.loads(args.out.read_text()) if args.out.exists() else {}
        with tempfile.TemporaryDirectory(prefix="shipyard-bench-monitoring-") as tmp:
            kept.update(fragmented(Path(tmp), args.rows, args.runs, args.rows_per_file))
        args.out.write_text(json.dumps(kept, indent=2) + "\n")
        print(json.dumps(kept["titanic_fragmented"], indent=2))
        return
    evidently = evidently_python()
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "evidently_version": version_of(evidently, "evidently"),
        "evidently_pandas_version": version_of(evidently, "pandas"),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "planted": PLANTED,
    }
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-monitoring-") as tmp:
        work = Path(tmp)
        for variant in ("titanic", "wide50"):
            results[variant] = compare(work, variant, args.rows, args.runs)
            small = compare(work, variant, args.small_rows, 1)
            results[variant]["verdicts_small"] = {"rows_per_window": args.small_rows,
                                                  **small["verdicts"]}
        titanic = results["titanic"]
        results["ratio_vs_evidently"] = titanic["ratio_vs_evidently"]
        results["ratio_vs_evidently_cpu"] = titanic["ratio_vs_evidently_cpu"]
        results["ratio_vs_evidently_wide50"] = results["wide50"]["ratio_vs_evidently"]
        results["ratio_vs_evidently_cpu_wide50"] = results["wide50"]["ratio_vs_evidently_cpu"]
        results["peak_mb"] = titanic["peak_mb"]
        results["evidently_peak_mb"] = titanic["evidently_peak_mb"]
        results["verdicts"] = {
            variant: {str(args.rows): results[variant]["verdicts"],
                      str(args.small_rows): results[variant]["verdicts_small"]}
            for variant in ("titanic", "wide50")}
        results.update(honest(work, args.rows, args.runs))
        if args.rows_per_file:
            results.update(fragmented(work, args.rows, args.runs, args.rows_per_file))
        if args.big_rows:
            results.update(memory(work, args.rows, args.big_rows, args.big_runs))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items()
                      if k not in ("titanic", "wide50", "verdicts", "planted")}, indent=2))


CHILDREN = {"shipyard": run_shipyard, "evidently": run_evidently,
            "evidently_tests": run_evidently_tests, "evidently_script": run_evidently_script}


if __name__ == "__main__":
    main()
