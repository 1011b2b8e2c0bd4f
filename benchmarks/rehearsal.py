"""The deployment rehearsed under load: failed requests during a promotion pickup, a rolling
update, a scale 3 → 6 → 3 and a kill -9 of one replica.

    PYTHONPATH=src python benchmarks/rehearsal.py [--runs 1] [--rate 5]

On a fresh team stack (teamstack/team.py: every store a server), the recommender example's
``team`` environment is trained (2 tuning trials: the model is not what is measured), version
1 promoted, a baseline registered as version 2, and ``deploy build --env team`` run. Then
``shipyard deploy rehearse --env team`` starts the rendered manifests' minReplicas replicas
behind HAProxy and runs each operation while 16 clients send recommendation requests through
it, promoting version 2 under load (the pickup). After the rehearsal the servers have stopped
and ``monitor check`` counts the answered requests in the prediction log: all but those the
killed replica answered and had not yet flushed (it appends every second).

Medians across ``--runs`` (each a whole rehearsal on the same stack, promoting 1 and 2 in
turn). Figures go to ``benchmarks/results/rehearsal.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import harness

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from teamstack.team import TeamStack  # noqa: E402 - the repository root, added just above

SHIPYARD = [sys.executable, "-m", "shipyard"]
MONITORING = """
serving: {recommender: recommender}
monitoring:
  rules:
    - {kind: p99_latency_ms, target: recommender, threshold: 60000, window: 1d}
"""


def shipyard(*args: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run([*SHIPYARD, *args], cwd=cwd, env={**os.environ, **env, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode:
        raise SystemExit(f"shipyard {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def project(folder: Path, env: dict[str, str]) -> Path:
    """The recommender example on the stack: versions 1 (production) and 2 registered."""
    shop = folder / "shop"
    shipyard("example", "recommender", str(shop), cwd=folder, env=env)
    config = shop / "shipyard.yaml"
    config.write_text(config.read_text().replace("trials: 12", "trials: 2") + MONITORING)
    erp = subprocess.run([sys.executable, "erp.py", "init", "--url", env["ERP_URL"],
                          "--customers", "300", "--months", "6"], cwd=shop, check=False,
                         capture_output=True, text=True)
    if erp.returncode:
        raise SystemExit(erp.stderr)
    for args in (("ingest",), ("run", "train"),
                 ("models", "promote", "recommender", "1", "--reason", "bench"),
                 ("run", "baseline")):
        shipyard(*args, "--env", "team", cwd=shop, env=env)
    shipyard("deploy", "build", "--env", "team", cwd=shop, env=env)
    return shop


def rehearse(shop: Path, env: dict[str, str], folder: Path, version: int,
             rate: float) -> dict[str, Any]:
    secrets_file = folder / "secrets.env"
    secrets_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    figures = folder / f"rehearsal-{version}.json"
    shipyard("deploy", "rehearse", "--env", "team", "--secrets", str(secrets_file),
             "--promote", str(version), "--rate", str(rate), "--figures", str(figures),
             *(("--job", "recommend") if version == 2 else ()), cwd=shop, env=env)
    result: dict[str, Any] = json.loads(figures.read_text())
    checked = " ".join(shipyard("monitor", "check", "--env", "team", cwd=shop, env=env).split())
    counted = [int(n) for n in re.findall(r"(\d+) answered requests", checked)]
    result["monitor_check_counted_total"] = counted[0] if counted else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--rate", type=float, default=5.0, help="requests a second per client")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/rehearsal.json")
    options = parser.parse_args()
    load_at_start = harness.load_average()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-rehearsal-") as tmp:
        folder = Path(tmp)
        with TeamStack(folder / "stack") as stack:
            env = {**stack.env, "SHIPYARD_API_KEYS": secrets.token_urlsafe(24),
                   "SHIPYARD_USER": "bench"}
            shop = project(folder, env)
            answered_before = 0
            for run in range(options.runs):
                result = rehearse(shop, env, folder, 2 if run % 2 == 0 else 1, options.rate)
                # monitor check counts the whole day's log: this run's share is the difference
                result["monitor_check_counted"] = (result.pop("monitor_check_counted_total")
                                                   or 0) - answered_before
                answered_before += result["monitor_check_counted"]
                runs.append(result)
    summary = {op: {key: _median([r[op][key] for r in runs if op in r])
                    for key in ("failed", "requests", "seconds_to_last_replica",
                                "new_ready_s_median", "scale_up_s", "ready_again_s",
                                "operation_s")
                    if any(key in r.get(op, {}) for r in runs)}
               for op in ("pickup", "rollout", "scale", "kill")}
    result = {**harness.header("rehearsal", load_at_start),
              "settings": {"runs": options.runs, "clients": 16, "rate_per_client": options.rate,
                           "replicas": runs[0]["start"]["replicas"]},
              "medians": summary,
              "answered_vs_counted": [(r["answered_recommendations"],
                                       r["monitor_check_counted"]) for r in runs],
              "not_shown": runs[0]["not_shown"],
              "samples": runs}
    harness.write(result, options.out)


def _median(values: list[Any]) -> float | None:
    numbers = [v for v in values if isinstance(v, int | float)]
    return round(statistics.median(numbers), 2) if numbers else None


if __name__ == "__main__":
    main()
