"""Fault trials: ``kill -9`` of ``shipyard run train`` at random points, then recovery.

    PYTHONPATH=src python benchmarks/kill_train.py [--trials 12] [--seed 8] [--max-minutes 40]

On a fresh Titanic example (2 Optuna trials per run, so a trial takes seconds), each trial
trains a model with a seed of its own and SIGKILLs the process: at each named point of
registration (``shipyard.faults.REGISTRATION_POINTS``) once, once after the gate of a model
that fails it (the gate raised to 0.99 for that trial), then at a random moment of the run (a
timer from the start of the process, up to about the length of an uninterrupted run). Right
after the kill, a version the killed run left without a passed gate must be refused by
``promote``. Then the same command is run again (the recovery) and every store is checked:

* registry consistent: every version finished its registration (``compared`` or
  ``rejected``) with a gate outcome; ``staging``/``production`` only on passed versions; one
  version per trained model (a continued registration does not register twice); audit rows
  ``registered`` once per version, ``staged`` once per passed one, ``rejected`` once per
  rejected one;
* no version without a passed gate is promotable (``promote`` refuses each);
* no MLflow run (parent, step or tuning trial) left ``RUNNING``;
* every run record final (``succeeded`` or ``failed``, none ``running``/``registering``).

There is no other tool to compare with here: the figures are counts of trials that held.
They go to ``benchmarks/results/kill_train.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "kill_train.json"
SHIPYARD = [sys.executable, "-m", "shipyard"]
STEP_TIMEOUT_S = 900  # one shipyard command; only against a hang
GATE_RULE, STRICT_RULE = 'accuracy: ">= 0.75"', 'accuracy: ">= 0.99"'


def shipyard(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run([*SHIPYARD, *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=STEP_TIMEOUT_S, check=False)


def killed_after(delay_s: float, args: list[str], cwd: Path) -> int:
    """Start ``shipyard ARGS`` and SIGKILL it after ``delay_s`` (if it is still running)."""
    environ = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen([*SHIPYARD, *args], cwd=cwd, env=environ,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=delay_s)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
    return process.wait(timeout=STEP_TIMEOUT_S)


def check(root: Path) -> dict[str, Any]:
    """Every invariant over every store of the project; a list of violations per kind."""
    from mlflow.tracking import MlflowClient

    from shipyard.errors import PromotionRefused
    from shipyard.pipeline import RunStore
    from shipyard.project import Project
    from shipyard.registry import AuditTrail, Registry, promote
    from shipyard.registry.client import GATE, REGISTRATION, STATUS

    project = Project.open(root, "dev")
    client = MlflowClient(project.tracking_uri, project.tracking_uri)
    found = client.search_model_versions("name = 'titanic'")
    versions = {int(v.version): dict(v.tags) for v in found}
    audit = Counter((e.version, e.action) for e in
                    AuditTrail(project.metadata_engine).history("titanic", limit=10_000))
    problems: dict[str, list[str]] = {"registry": [], "promotable_ungated": [],
                                      "mlflow_running": [], "records": []}
    for version, tags in sorted(versions.items()):
        state, gate = tags.get(REGISTRATION), tags.get(GATE)
        expected = {"passed": "compared", "failed": "rejected"}.get(gate or "")
        if state != expected:
            problems["registry"].append(f"v{version}: registration {state}, gate {gate}")
        if audit[(version, "registered")] != 1:
            problems["registry"].append(f"v{version}: {audit[(version, 'registered')]} "
                                        f"'registered' audit rows")
        final = "staged" if gate == "passed" else "rejected"
        if audit[(version, final)] != 1:
            problems["registry"].append(f"v{version}: {audit[(version, final)]} '{final}' rows")
        if gate == "failed" and tags.get(STATUS) != "rejected":
            problems["registry"].append(f"v{version}: gate failed, status {tags.get(STATUS)}")
    registry = Registry(project)
    for alias in ("staging", "production"):
        holder = registry.alias("titanic", alias)
        if holder is not None and versions[holder].get(GATE) != "passed":
            problems["registry"].append(f"{alias} on v{holder}, whose gate did not pass")
    per_model = Counter(tags.get("shipyard.fingerprint") for tags in versions.values())
    problems["registry"] += [f"{n} versions of fingerprint {f}" for f, n in per_model.items()
                             if n > 1]
    for version, tags in sorted(versions.items()):
        if tags.get(GATE) == "passed":
            continue
        try:
            promote(project, "titanic", version, reason="kill_train: must be refused")
            problems["promotable_ungated"].append(f"v{version}")
        except PromotionRefused:
            pass
    experiments = [e.experiment_id for e in client.search_experiments()]
    problems["mlflow_running"] = [
        f"{r.info.run_name} ({r.info.run_id})"
        for r in client.search_runs(experiments, "attributes.status = 'RUNNING'",
                                    max_results=1000)]
    problems["records"] = [f"{r.id}: {r.status}" for r in
                           RunStore(project.metadata_engine).recent(limit=10_000)
                           if r.status not in ("succeeded", "failed")]
    return {"versions": len(versions),
            "gate_passed": sum(t.get(GATE) == "passed" for t in versions.values()),
            "problems": problems}


def ungated_left(root: Path, before: set[int]) -> dict[str, Any]:
    """The version a killed run left, if any, and whether promote refused it."""
    from mlflow.tracking import MlflowClient

    from shipyard.errors import PromotionRefused
    from shipyard.project import Project
    from shipyard.registry import promote
    from shipyard.registry.client import GATE, REGISTRATION

    project = Project.open(root, "dev")
    client = MlflowClient(project.tracking_uri, project.tracking_uri)
    new = [v for v in client.search_model_versions("name = 'titanic'")
           if int(v.version) not in before]
    if not new:
        return {"version": None}
    left = new[0]
    outcome = {"version": int(left.version), "registration": left.tags.get(REGISTRATION),
               "gate": left.tags.get(GATE)}
    if left.tags.get(GATE) != "passed":
        try:
            promote(project, "titanic", int(left.version), reason="kill_train: must be refused")
            outcome["promote"] = "ACCEPTED"
        except PromotionRefused:
            outcome["promote"] = "refused"
    return outcome


def versions_now(root: Path) -> set[int]:
    from mlflow.tracking import MlflowClient

    from shipyard.project import Project

    uri = Project.open(root, "dev").tracking_uri
    return {int(v.version) for v in
            MlflowClient(uri, uri).search_model_versions("name = 'titanic'")}


def latest_run(root: Path) -> tuple[str | None, str | None]:
    """(id, status) of the newest run record of ``train``."""
    from shipyard.pipeline import RunStore
    from shipyard.project import Project

    latest = RunStore(Project.open(root, "dev").metadata_engine).latest("train")
    return (latest.id, latest.status) if latest else (None, None)


def record_after(root: Path, run_before: str | None) -> str:
    """Status of the record the killed process wrote; ``not started`` when it died before
    recording its run (while importing or planning)."""
    run_id, status = latest_run(root)
    return "not started" if run_id == run_before or status is None else status


def main() -> None:
    from shipyard.faults import REGISTRATION_POINTS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--max-minutes", type=float, default=40.0,
                        help="stop starting trials after this long (the figures say so)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "titanic"
        done = shipyard("example", "titanic", str(root), cwd=Path(tmp))
        assert done.returncode == 0, done.stderr
        config = root / "shipyard.yaml"
        declared = config.read_text().replace("trials: 20", "trials: 2")
        assert GATE_RULE in declared
        config.write_text(declared)
        assert shipyard("ingest", cwd=root).returncode == 0
        clock = time.monotonic()
        baseline = shipyard("run", "train", "--params", "seed=1", cwd=root)
        full_run_s = time.monotonic() - clock
        assert baseline.returncode in (0, 4), baseline.stdout + baseline.stderr
        trials = []
        for i in range(args.trials):
            if time.monotonic() - started > args.max_minutes * 60:
                break
            seed = 100 + i
            command = ["run", "train", "--params", f"seed={seed}"]
            before, (run_before, _) = versions_now(root), latest_run(root)
            strict = i == len(REGISTRATION_POINTS)  # one rejection, killed after its gate
            config.write_text(declared.replace(GATE_RULE, STRICT_RULE) if strict else declared)
            if i <= len(REGISTRATION_POINTS):
                point = REGISTRATION_POINTS[i] if not strict else "register:gated"
                code = shipyard(*command, cwd=root, env={"SHIPYARD_KILL_AT": point}).returncode
                point += " (gate >= 0.99)" if strict else ""
            else:
                delay = rng.uniform(0.2, 1.1) * full_run_s
                point = f"timer:{delay:.1f}s"
                code = killed_after(delay, command, root)
            trial: dict[str, Any] = {
                "trial": i, "seed": seed, "kill": point, "killed": code == -signal.SIGKILL,
                "exit_without_kill": None if code == -signal.SIGKILL else code,
                "record_after_kill": record_after(root, run_before),
                "left": ungated_left(root, before)}
            recovered = shipyard(*command, cwd=root)
            trial["recovery_exit"] = recovered.returncode
            trial.update(check(root))
            trial["held"] = (recovered.returncode in (0, 4)
                             and not any(trial["problems"].values())
                             and trial["left"].get("promote") != "ACCEPTED")
            trials.append(trial)
            print(f"trial {i}: kill {point} → killed={trial['killed']} record "
                  f"{trial['record_after_kill']}, left {trial['left']}, recovery exit "
                  f"{recovered.returncode}, held={trial['held']}", flush=True)
        final = check(root)
    killed = [t for t in trials if t["killed"]]
    figures = {
        "benchmark": "kill_train",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "settings": {"trials": args.trials, "seed": args.seed, "optuna_trials_per_run": 2,
                     "full_run_s": round(full_run_s, 1)},
        "trials_run": len(trials),
        "killed": len(killed),
        "killed_while_registering": sum(t["record_after_kill"] == "registering"
                                        for t in killed),
        "killed_while_running": sum(t["record_after_kill"] == "running" for t in killed),
        "left_a_version_without_passed_gate": sum(
            t["left"].get("version") is not None and t["left"].get("gate") != "passed"
            for t in killed),
        "ungated_promotions_accepted": sum(t["left"].get("promote") == "ACCEPTED"
                                           for t in trials)
        + len(final["problems"]["promotable_ungated"]),
        "recovered": sum(t["recovery_exit"] in (0, 4) for t in trials),
        "held": sum(t["held"] for t in trials),
        "final": final,
        "elapsed_s": round(time.monotonic() - started, 1),
        "trials": trials,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2, default=str))
    print(f"{figures['held']}/{len(trials)} trials held ({len(killed)} killed, "
          f"{figures['killed_while_registering']} while registering); final problems: "
          f"{ {k: len(v) for k, v in final['problems'].items()} } → {args.out}")


if __name__ == "__main__":
    main()
