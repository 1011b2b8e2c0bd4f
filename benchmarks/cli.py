"""Benchmark: how long a user waits for a ``shipyard`` command, against MLflow's own CLI.

    python benchmarks/cli.py [--runs 7] [--out benchmarks/results/cli.json]

Each figure is the median wall time of ``--runs`` fresh processes started the way a user
starts them (the console script in the venv), measured from spawn to exit:

* ``version_s``, ``help_s``: ``shipyard --version`` and ``shipyard --help``
  (target < 0.5 s each; issue 10 found 7-14 s);
* ``lake_ls_s``: ``shipyard lake ls`` in an ingested Titanic example project;
* ``cached_run_s``: ``shipyard run train`` in that project when every step is reused. It
  imports the project's pipeline module (scikit-learn) and writes MLflow run records, so
  ``import_floor_s`` — a bare ``python -c "import mlflow, sklearn"`` — is its floor;
* ``mlflow_version_s``, ``mlflow_help_s``: ``mlflow --version`` and ``mlflow --help``, the
  CLI of the tool a user would otherwise pick, in the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "cli.json"
BIN = Path(sys.executable).parent


def _wall(argv: list[str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return seconds


def _median(argv: list[str], runs: int, cwd: Path | None = None) -> float:
    return round(statistics.median(_wall(argv, cwd) for _ in range(runs)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    shipyard, mlflow = str(BIN / "shipyard"), str(BIN / "mlflow")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "titanic"
        _wall([shipyard, "example", "titanic", str(project)])
        _wall([shipyard, "ingest"], cwd=project)
        _wall([shipyard, "run", "train"], cwd=project)  # the run that is then reused
        figures = {
            "version_s": _median([shipyard, "--version"], args.runs),
            "help_s": _median([shipyard, "--help"], args.runs),
            "lake_ls_s": _median([shipyard, "lake", "ls"], args.runs, cwd=project),
            "cached_run_s": _median([shipyard, "run", "train"], args.runs, cwd=project),
            "import_floor_s": _median([sys.executable, "-c", "import mlflow, sklearn"],
                                      args.runs),
            "mlflow_version_s": _median([mlflow, "--version"], args.runs),
            "mlflow_help_s": _median([mlflow, "--help"], args.runs),
        }
    figures["version_ratio_vs_mlflow"] = round(
        figures["version_s"] / figures["mlflow_version_s"], 3)
    figures["help_ratio_vs_mlflow"] = round(figures["help_s"] / figures["mlflow_help_s"], 3)
    result = {
        "benchmark": "cli",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"arch": platform.machine(), "python": platform.python_version()},
        "runs": args.runs,
        "statistic": "median wall seconds, fresh process each",
        **figures,
        "targets": {"version_s": "< 0.5", "help_s": "< 0.5"},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
