"""Benchmark: the Titanic production model behind ``shipyard serve`` vs ``mlflow models serve``
(of the pipeline and of the same ONNX graph), BentoML with adaptive batching, and the HTTP
ceiling.

    python benchmarks/serving.py [--runs 3] [--seconds 15] [--out benchmarks/results/serving.json]

One Titanic project is built, ingested, trained and its version 1 promoted. Both servers then
serve that same registered version, one worker each, on 127.0.0.1: Shipyard's
``/v1/models/titanic/predict`` (micro-batching on) and MLflow's ``/invocations`` (MLflow 3
refuses to deserialise any model, skops included, unless ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION``
is true; it is set for MLflow's server only). The same load generator, ``wrk`` from Debian's
packages, sends one-row requests at 1 and at 16 connections, 15 s per measurement after a
warm-up, alternating servers; the medians of ``--runs`` rounds are reported with
``ratio_vs_mlflow_c1`` and ``ratio_vs_mlflow_c16`` (Shipyard requests/s ÷ MLflow's).

``mlflow_onnx`` is MLflow serving the very ONNX graph Shipyard serves, so that the comparison
is the server and not ONNX against scikit-learn: the version's ``model.onnx`` is logged with
MLflow's ``onnx`` flavour (signature and input example: one ``[N, 1]`` tensor per column, as
the graph takes them) to a tracking store of its own, registered, and served by the same
``mlflow models serve`` command as the pipeline; requests are MLflow's tensor format
(``{"inputs": {column: [[value]]}}``). ``ratio_vs_mlflow_onnx_c1`` and ``_c16``.

``ceiling`` is the fastest a Python server of this kind answers the same POST: FastAPI on
uvicorn with httptools and uvloop (the parser and loop ``shipyard serve`` runs, one worker,
no access log), its handler reading the body and returning a constant answer of the same
shape. ``ratio_vs_ceiling_c1`` and ``_c16`` say how much of it Shipyard reaches.

BentoML is what a user would pick for adaptive batching: a service of its own (written below)
loads the same ``model.skops`` and answers ``predict_proba`` from a batchable API
(``max_batch_size`` as Shipyard's ``batch_max_size``), one worker, measured at 16 connections
(``ratio_vs_bentoml_c16``). It runs in a virtualenv of its own, made by this script under
``~/.cache/shipyard/benchmarks`` (``--cache``) with the same scikit-learn, skops, pandas and
NumPy as Shipyard's, and reused on the next run.

Every figure is the median of the rounds, with its spread (lowest and highest round); each
ratio also has the spread of the ratios of the rounds (servers measured back to back in the
same round). Shipyard serves the version by its ONNX graph (``shipyard models show`` says so;
registration checked it on the test rows), MLflow and BentoML by the scikit-learn pipeline,
``mlflow_onnx`` by the graph. The load average is recorded at the start and the end.

The results file is read, updated and written: keys this script does not write (another
benchmark's peers merged into ``serving.json``) are kept.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import harness
import httpx
import numpy as np

RESULTS = Path(__file__).parent / "results" / "serving.json"
ROW = {"pclass": "3rd", "sex": "male", "age": 29.0, "sibsp": 0, "parch": 0}
LEVELS = (1, 16)
BENTOML = "1.4.40"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "shipyard" / "benchmarks"
SERVICE = '''"""The Titanic model behind BentoML, adaptive batching on (written by benchmarks/serving.py)."""
import os
from typing import Any

import bentoml

MODEL = os.environ["TITANIC_MODEL"]
COLUMNS = ["pclass", "sex", "age", "sibsp", "parch"]


@bentoml.service(workers=1, traffic={"timeout": 30})
class Titanic:
    def __init__(self) -> None:
        import skops.io as sio

        self.model = sio.load(MODEL, trusted=sio.get_untrusted_types(file=MODEL))

    @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=10_000)
    def predict(self, rows: list[dict[str, Any]]) -> list[float]:
        import pandas as pd

        return self.model.predict_proba(pd.DataFrame(rows)[COLUMNS])[:, 1].tolist()
'''
CEILING = '''"""The HTTP ceiling: the predict POST answered with a constant (benchmarks/serving.py)."""
from fastapi import FastAPI, Request, Response

ANSWER = b'{"model": "titanic", "version": 1, "predictions": [{"prediction": 0, "probability": 0.1}]}'
app = FastAPI()


@app.post("/v1/models/titanic/predict")
async def predict(request: Request) -> Response:
    await request.body()
    return Response(ANSWER, media_type="application/json")
'''




def bentoml_env(cache: Path) -> Path:
    """BentoML's virtualenv (made once under ``cache``): its ``bentoml`` command."""
    from importlib.metadata import version

    folder = cache / f"bentoml-{BENTOML}"
    command = folder / "bin" / "bentoml"
    same = [f"{p}=={version(p)}" for p in ("scikit-learn", "skops", "pandas", "numpy")]
    made = folder / ".installed"  # what it was made with: another Python or library, made anew
    wanted = " ".join([platform.python_version(), *same])
    if not made.exists() or made.read_text() != wanted:
        print(f"making BentoML's virtualenv in {folder}…", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run([str(folder / "bin" / "pip"), "install", "-q", f"bentoml=={BENTOML}",
                        *same], check=True)
        made.write_text(wanted)
    return command


def mlflow_serve(uri: str, on: int, *, cwd: Path, tracking: str,
                 log: Path) -> subprocess.Popen[bytes]:
    """``mlflow models serve`` of ``uri`` from ``tracking`` as a user runs it: one worker, the
    current environment. (MLflow 3 refuses to deserialise a pickled or skops model unless
    ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION`` is true.)"""
    return harness.start(
        [str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m", uri, "-p", str(on),
         "-h", "127.0.0.1", "--env-manager", "local", "--workers", "1"], cwd=cwd,
        env={"MLFLOW_TRACKING_URI": tracking, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
             "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        log=log)


def onnx_tensors(row: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """``row`` as the graph's inputs: one ``[1, 1]`` tensor per column (numbers as floats)."""
    return {c: [[v if isinstance(v, str) else float(v)]] for c, v in row.items()}


def log_onnx(graph: Path, tracking: str, name: str) -> str:
    """Log ``graph`` with MLflow's ``onnx`` flavour to ``tracking`` and register it as
    ``name``; its model URI. The signature is inferred from an input example in the graph's
    own types (strings, 32-bit floats), so MLflow's server casts requests to them."""
    import mlflow
    import mlflow.onnx
    import onnx

    example = {c: np.array(v, dtype=object if isinstance(v[0][0], str) else np.float32)
               for c, v in onnx_tensors(ROW).items()}
    before = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(tracking)  # sets MLFLOW_TRACKING_URI too, which every server
    try:  # started after would inherit: Shipyard's would watch this store, not its own
        with mlflow.start_run():
            mlflow.onnx.log_model(onnx.load(graph), name="model", input_example=example,
                                  registered_model_name=name)
    finally:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        if before is not None:
            os.environ["MLFLOW_TRACKING_URI"] = before
    return f"models:/{name}/1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="where BentoML's virtualenv is made and kept")
    args = parser.parse_args()
    harness.require_wrk()
    bentoml = bentoml_env(args.cache)
    load_at_start = harness.load_average()
    key = secrets.token_urlsafe(24)
    auth = {"Authorization": f"Bearer {key}"}
    levels = {"shipyard": LEVELS, "ceiling": LEVELS, "mlflow_onnx": LEVELS, "mlflow": LEVELS,
              "bentoml": (16,)}
    with tempfile.TemporaryDirectory() as tmp:
        root = harness.titanic_in_production(Path(tmp))
        shown = subprocess.run([sys.executable, "-m", "shipyard", "models", "show", "titanic"],
                               cwd=root, check=True, capture_output=True, text=True,
                               env={**os.environ, "COLUMNS": "200"}).stdout
        served_by = re.search(r"^v1 served by (.*)$", shown, re.MULTILINE)
        model = next((root / ".shipyard").rglob("model.skops"))
        (Path(tmp) / "service.py").write_text(SERVICE)
        (Path(tmp) / "ceiling.py").write_text(CEILING)
        ports = {name: harness.port() for name in levels}
        tracking = f"sqlite:///{root / '.shipyard' / 'dev' / 'mlflow.db'}"
        onnx_tracking = f"sqlite:///{Path(tmp) / 'onnx-mlflow.db'}"
        onnx_uri = log_onnx(next((root / ".shipyard").rglob("model.onnx")), onnx_tracking,
                            "titanic_onnx")
        servers = {
            "shipyard": harness.shipyard_serve(root, ports["shipyard"], key,
                                               Path(tmp) / "shipyard.log"),
            "ceiling": harness.start(
                [sys.executable, "-m", "uvicorn", "ceiling:app", "--host", "127.0.0.1",
                 "--port", str(ports["ceiling"]), "--loop", "uvloop", "--http", "httptools",
                 "--log-level", "warning", "--no-access-log"], cwd=tmp, env={},
                log=Path(tmp) / "ceiling.log"),
            "mlflow_onnx": mlflow_serve(onnx_uri, ports["mlflow_onnx"], cwd=Path(tmp),
                                        tracking=onnx_tracking,
                                        log=Path(tmp) / "mlflow_onnx.log"),
            "mlflow": mlflow_serve("models:/titanic@production", ports["mlflow"], cwd=root,
                                   tracking=tracking, log=Path(tmp) / "mlflow.log"),
            "bentoml": harness.start(
                [str(bentoml), "serve", "service:Titanic", "--host", "127.0.0.1", "--port",
                 str(ports["bentoml"])], cwd=tmp,
                env={"TITANIC_MODEL": str(model), "BENTOML_DO_NOT_TRACK": "true",
                     "BENTOML_HOME": str(Path(tmp) / "bentoml-home")},
                log=Path(tmp) / "bentoml.log"),
        }
        base = {name: f"http://127.0.0.1:{p}" for name, p in ports.items()}
        urls = {"shipyard": f"{base['shipyard']}/v1/models/titanic/predict",
                "ceiling": f"{base['ceiling']}/v1/models/titanic/predict",
                "mlflow_onnx": f"{base['mlflow_onnx']}/invocations",
                "mlflow": f"{base['mlflow']}/invocations",
                "bentoml": f"{base['bentoml']}/predict"}
        ready = {"shipyard": "/ready", "ceiling": "/docs", "mlflow_onnx": "/health",
                 "mlflow": "/health", "bentoml": "/readyz"}
        try:
            for name, path in ready.items():
                harness.wait(base[name] + path, servers[name],
                             auth if name == "shipyard" else {})
            bodies = {"shipyard": {"rows": [ROW]}, "ceiling": {"rows": [ROW]},
                      "mlflow_onnx": {"inputs": onnx_tensors(ROW)},
                      "mlflow": {"dataframe_records": [ROW]}, "bentoml": {"rows": [ROW]}}
            headers = {name: auth if name == "shipyard" else {} for name in servers}
            scripts = {n: harness.json_post_script(Path(tmp), n, bodies[n], headers[n]) for n in servers}
            for name in servers:
                harness.check(name, httpx.post(urls[name], json=bodies[name],
                                               headers=headers[name]))
                harness.wrk(urls[name], scripts[name], 16, 3)  # warm-up
            samples = harness.rounds(args.runs, levels, lambda name, connections: harness.wrk(
                urls[name], scripts[name], connections, args.seconds))
        finally:
            harness.stop(servers.values())

    def median(name: str, connections: int) -> dict[str, Any]:
        runs = samples[name][connections]
        return harness.medians(runs, ("rps", "p50_ms", "p99_ms"), 2) | {
            "errors": sum(r["errors"] for r in runs),
            "rps_spread": harness.spread([r["rps"] for r in runs]),
            "p99_spread": harness.spread([r["p99_ms"] for r in runs])}

    def ratio(other: str, connections: int) -> tuple[float, list[float]]:
        ours, theirs = samples["shipyard"][connections], samples[other][connections]
        rounds = [a["rps"] / b["rps"] for a, b in zip(ours, theirs, strict=True)]
        return (round(figures["shipyard"][f"c{connections}"]["rps"]
                      / figures[other][f"c{connections}"]["rps"], 3), harness.spread(rounds))

    figures = {name: {f"c{c}": median(name, c) for c in levels[name]} for name in servers}
    ratios = {f"ratio_vs_{other}_c{c}": ratio(other, c)
              for other in ("mlflow", "mlflow_onnx", "ceiling", "bentoml") for c in levels[other]}
    targets = {"ratio_vs_mlflow_c1": ">= 3",
               "ratio_vs_mlflow_c16": ">= 10, zero non-2xx, p99 <= 50 ms",
               "ratio_vs_mlflow_onnx_c16": ">= 3",
               "ratio_vs_ceiling_c16": ">= 0.6",
               "ratio_vs_bentoml_c16": ">= 2, zero non-2xx on ours"}
    result = {
        **harness.header("serving", load_at_start),
        "load_generator": "wrk", "seconds": args.seconds, "runs": args.runs,
        "shipyard_served_by": served_by.group(1) if served_by else None,
        "bentoml_version": BENTOML,
        **figures,
        **{key: value for key, (value, _) in ratios.items()},
        "ratio_spreads": {key: spread for key, (_, spread) in ratios.items()},
        "targets": targets,
        "met": {key: ratios[key][0] >= float(goal.split(",")[0].removeprefix(">= "))
                for key, goal in targets.items()},
        "samples": samples,
    }
    harness.update(result, args.out)


if __name__ == "__main__":
    main()
