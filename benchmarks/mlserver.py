"""Benchmark: the Titanic production model over the Open Inference Protocol (V2), ``shipyard
serve`` vs MLServer (Seldon's server, the reference V2 implementation) with adaptive batching.

    python benchmarks/mlserver.py [--runs 3] [--seconds 15] [--out benchmarks/results/serving.json]

One Titanic project is built, ingested, trained and its version 1 promoted. MLServer 1.7.1 with
mlserver-sklearn runs in a virtualenv of its own, made by this script under
``~/.cache/shipyard/benchmarks`` (``--cache``) with the same scikit-learn, skops, pandas and
NumPy as Shipyard's, and reused on the next run; it serves that same registered version (its
``model.skops`` loaded with skops in MLServer's venv and dumped with joblib, the file its
scikit-learn runtime loads), adaptive batching on with Shipyard's own settings
(``max_batch_size`` 64, ``max_batch_time`` 2 ms, as ``serving.batch_max_size`` and
``batch_max_wait_ms``), inference in its server process (``parallel_workers`` 0: one
process, as Shipyard's; 1.7.1's worker processes fail at start with the uvloop its install
resolves to, "no current event loop"), its other settings the defaults.

Both are sent the same one-row V2 request (a tensor per column, the columns' V2 datatypes; the
``pd`` content type MLServer needs to make a data frame of it, which Shipyard ignores), asking
for the class-1 probability (``predict_proba`` of MLServer's runtime, ``probability`` of
Shipyard's), by ``wrk`` at 16 connections, 15 s per measurement after a warm-up, alternating
servers; medians of ``--runs`` rounds. Only this benchmark's keys of ``--out`` are replaced
(``ratio_vs_mlserver_c16`` and ``mlserver_v2``): ``serving.py`` writes the others.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import harness
import httpx

RESULTS = Path(__file__).parent / "results" / "serving.json"
MLSERVER = "1.7.1"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "shipyard" / "benchmarks"
ROW = {"pclass": "3rd", "sex": "male", "age": 29.0, "sibsp": 0, "parch": 0}
DATATYPES = {"pclass": "BYTES", "sex": "BYTES", "age": "FP64", "sibsp": "INT64", "parch": "INT64"}
BATCH = {"max_batch_size": 64, "max_batch_time": 0.002}
TO_JOBLIB = """import sys, joblib, skops.io as sio
source, target = sys.argv[1:]
joblib.dump(sio.load(source, trusted=sio.get_untrusted_types(file=source)), target)
"""


def mlserver_env(cache: Path) -> Path:
    """MLServer's virtualenv (made once under ``cache``): its ``bin`` folder."""
    from importlib.metadata import version

    folder = cache / f"mlserver-{MLSERVER}"
    same = [f"{p}=={version(p)}" for p in ("scikit-learn", "skops", "pandas", "numpy")]
    made = folder / ".installed"  # what it was made with: another Python or library, made anew
    wanted = " ".join([platform.python_version(), *same])
    if not made.exists() or made.read_text() != wanted:
        print(f"making MLServer's virtualenv in {folder}…", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run([str(folder / "bin" / "pip"), "install", "-q", f"mlserver=={MLSERVER}",
                        f"mlserver-sklearn=={MLSERVER}", *same], check=True)
        made.write_text(wanted)
    return folder / "bin"



def v2_request(output: str) -> dict[str, Any]:
    """One row as V2 tensors, asking for ``output``."""
    return {"parameters": {"content_type": "pd"}, "outputs": [{"name": output}], "inputs": [
        {"name": column, "shape": [1], "datatype": DATATYPES[column], "data": [value],
         **({"parameters": {"content_type": "str"}} if DATATYPES[column] == "BYTES" else {})}
        for column, value in ROW.items()]}


def mlserver_folder(folder: Path, bin_dir: Path, model: Path, ports: dict[str, int]) -> Path:
    """MLServer's settings and the model's, the model dumped with joblib next to them."""
    (folder / "titanic").mkdir(parents=True)
    subprocess.run([str(bin_dir / "python"), "-c", TO_JOBLIB, str(model),
                    str(folder / "titanic" / "model.joblib")], check=True)
    (folder / "settings.json").write_text(json.dumps({
        "host": "127.0.0.1", "http_port": ports["http"], "grpc_port": ports["grpc"],
        "metrics_port": ports["metrics"], "parallel_workers": 0}))
    (folder / "titanic" / "model-settings.json").write_text(json.dumps({
        "name": "titanic", "implementation": "mlserver_sklearn.SKLearnModel", **BATCH,
        "parameters": {"uri": "./model.joblib", "version": "1"}}))
    return folder



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="where MLServer's virtualenv is made and kept")
    args = parser.parse_args()
    harness.require_wrk()
    bin_dir = mlserver_env(args.cache)
    load_at_start = harness.load_average()
    key = secrets.token_urlsafe(24)
    auth = {"Authorization": f"Bearer {key}"}
    with tempfile.TemporaryDirectory() as tmp:
        root = harness.titanic_in_production(Path(tmp))
        model = next((root / ".shipyard").rglob("model.skops"))
        ports = {"shipyard": harness.port(), "http": harness.port(), "grpc": harness.port(),
                 "metrics": harness.port()}
        settings = mlserver_folder(Path(tmp) / "mlserver", bin_dir, model, ports)
        servers = {
            "shipyard": harness.shipyard_serve(root, ports["shipyard"], key,
                                               Path(tmp) / "shipyard.log"),
            "mlserver": harness.start([str(bin_dir / "mlserver"), "start", str(settings)],
                                      cwd=settings, env={"PATH": f"{bin_dir}:{os.environ['PATH']}"},
                                      log=Path(tmp) / "mlserver.log"),
        }
        urls = {"shipyard": f"http://127.0.0.1:{ports['shipyard']}/v2/models/titanic/infer",
                "mlserver": f"http://127.0.0.1:{ports['http']}/v2/models/titanic/infer"}
        bodies = {"shipyard": v2_request("probability"), "mlserver": v2_request("predict_proba")}
        headers = {"shipyard": auth, "mlserver": {}}
        try:
            # a shared machine under load may take minutes to load either
            harness.wait(f"http://127.0.0.1:{ports['shipyard']}/ready", servers["shipyard"], auth,
                         bound_s=600)
            harness.wait(f"http://127.0.0.1:{ports['http']}/v2/models/titanic/ready",
                         servers["mlserver"], {}, bound_s=600)
            answers = {n: harness.check(n, httpx.post(urls[n], json=bodies[n], headers=headers[n],
                                                      timeout=30)).json() for n in servers}
            scripts = {n: harness.json_post_script(Path(tmp), n, bodies[n], headers[n]) for n in servers}
            for name in servers:
                harness.wrk(urls[name], scripts[name], 16, 3)  # warm-up
            samples = harness.rounds(args.runs, dict.fromkeys(servers, (16,)),
                                     lambda name, connections: harness.wrk(
                                         urls[name], scripts[name], connections, args.seconds))
        finally:
            harness.stop(servers.values())

    figures = {name: harness.medians(samples[name][16], ("rps", "p50_ms", "p99_ms"), 2) | {
        "errors": sum(r["errors"] for r in samples[name][16]),
        "rps_spread": harness.spread([r["rps"] for r in samples[name][16]]),
        "p99_spread": harness.spread([r["p99_ms"] for r in samples[name][16]])}
        for name in servers}
    ratio = round(figures["shipyard"]["rps"] / figures["mlserver"]["rps"], 3)
    rounds = [a["rps"] / b["rps"] for a, b in zip(samples["shipyard"][16],
                                                   samples["mlserver"][16], strict=True)]
    probability = answers["shipyard"]["outputs"][0]["data"][0]
    theirs = answers["mlserver"]["outputs"][0]["data"]  # [p(0), p(1)] of the one row
    ours = {
        **harness.header("serving (V2 vs MLServer)", load_at_start),
        "load_generator": "wrk", "connections": 16, "seconds": args.seconds, "runs": args.runs,
        "mlserver": MLSERVER, "mlserver_settings": BATCH | {"parallel_workers": 0},
        "same_answer": abs(probability - theirs[-1]) < 1e-6,
        "shipyard_v2_c16": figures["shipyard"], "mlserver_v2_c16": figures["mlserver"],
        "ratio_spread": harness.spread(rounds),
        "target": ">= 3, zero errors, p99 reported",
        "samples": {name: samples[name][16] for name in servers},
    }
    harness.update({"ratio_vs_mlserver_c16": ratio, "mlserver_v2": ours}, args.out)


if __name__ == "__main__":
    main()
