"""The model lifecycle on the Titanic example, driven through the CLI as a user would.

train → gate → staging → cached re-run → promote → challenger compared → racing promotions →
rollback → smoke run → gate failure. One project carries the story; each test is one chapter and
relies on the ones before it (the file runs on one worker, in order).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from shipyard.pipeline import RunStore
from shipyard.project import Project
from shipyard.registry import AuditTrail
from tests.e2e.cli import run, start
from tests.e2e.examples import ExampleProjects, add_webhook, small
from tests.receiver import Receiver

TRIALS = 4


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory, example_projects: ExampleProjects,
            receiver: Receiver) -> Path:
    folder = tmp_path_factory.mktemp("lifecycle") / "titanic"
    example_projects.copy("titanic-ingested", folder)
    small(folder, trials=TRIALS)
    add_webhook(folder, receiver.url + "/hook")
    return folder


ENV = {"SHIPYARD_USER": "ana"}


def text(done: subprocess.CompletedProcess[str]) -> str:
    """Output with table borders and wrapping removed, for matching sentences."""
    raw = f"{done.stdout}\n{done.stderr}"
    return " ".join(re.sub(r"[│┃┏┓┗┛┡┩└┘━─┳┻╇┼┬┴├┤]", " ", raw).split())


def client(root: Path) -> MlflowClient:
    uri = Project.open(root, "dev").tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def alias(root: Path, name: str) -> int | None:
    try:
        return int(client(root).get_model_version_by_alias("titanic", name).version)
    except Exception:  # noqa: BLE001 - MLflow raises its own error for a missing alias
        return None


def versions(root: Path) -> dict[int, dict[str, str]]:
    found = client(root).search_model_versions("name = 'titanic'")
    return {int(v.version): dict(v.tags) for v in found}


def events(receiver: Receiver) -> list[str]:
    return [r.json["event"] for r in receiver.requests if r.json]


def test_a_first_run_tunes_registers_and_stages_a_model(titanic: Path,
                                                        receiver: Receiver) -> None:
    done = text(run("run", "train", cwd=titanic, env=ENV))
    assert "3 step(s) ran, 0 reused" in done
    gate = re.search(r"Model titanic version 1 registered; gate passed \(accuracy (0\.\d+) "
                     r"meets >= 0\.75\) → alias staging", done)
    assert gate, done
    assert alias(titanic, "staging") == 1 and alias(titanic, "production") is None
    tags = versions(titanic)[1]
    run_id = tags["shipyard.run_id"]
    assert run_id in done and tags["shipyard.data.curated.training_set"] == "0"
    assert float(tags["metric.accuracy"]) == pytest.approx(float(gate.group(1)), abs=1e-3)
    assert {"metric.roc_auc", "metric.f1", "metric.log_loss"} <= set(tags)
    # every Optuna trial is an MLflow run nested under the pipeline run that made the model
    mlflow = client(titanic)
    parent = mlflow.get_model_version("titanic", "1").run_id
    experiment = mlflow.get_run(parent).info.experiment_id
    nested = mlflow.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent}'")
    assert sum("shipyard.trial" in r.data.tags for r in nested) == TRIALS
    assert "model_staged" in events(receiver)


def test_an_unchanged_rerun_reuses_every_step_and_registers_nothing(titanic: Path) -> None:
    done = text(run("run", "train", cwd=titanic))
    assert "0 step(s) ran, 3 reused" in done
    assert "registered" not in done and set(versions(titanic)) == {1}


def test_promote_puts_a_version_in_production_with_an_audit_row(titanic: Path,
                                                                receiver: Receiver) -> None:
    done = text(run("models", "promote", "titanic", "1", "--reason", "first model",
                    cwd=titanic, env=ENV))
    assert "titanic version 1 is production" in done
    assert alias(titanic, "production") == 1
    entry = AuditTrail(Project.open(titanic, "dev").metadata_engine).history("titanic")[0]
    assert (entry.version, entry.action, entry.actor, entry.reason) == (
        1, "promoted", "ana", "first model")
    promoted = [r.json for r in receiver.requests if r.json and r.json["event"] == "model_promoted"]
    assert promoted and promoted[-1]["details"]["version"] == 1
    shown = text(run("models", "show", "titanic", cwd=titanic))
    assert "promoted ana first model" in shown and "production" in shown


def test_a_challenger_is_staged_and_compared_with_production(titanic: Path) -> None:
    done = text(run("run", "train", "--no-cache", "--params", "seed=7", cwd=titanic))
    assert "Model titanic version 2 registered" in done
    assert "v2 (challenger) vs v1 (champion)" in done and "roc_auc (primary)" in done
    assert alias(titanic, "staging") == 2 and alias(titanic, "production") == 1
    report_path = re.search(r"comparison report: (\S+\.json)", done).group(1)
    report = json.loads(Path(report_path).read_text())
    assert (report["challenger"], report["champion"], report["primary_metric"]) == (2, 1, "roc_auc")
    for m in report["metrics"]:
        assert m["ci_low"] <= m["improvement"] <= m["ci_high"], m
    assert {m["metric"] for m in report["metrics"]} == {"accuracy", "roc_auc", "f1", "log_loss"}
    compared = text(run("models", "compare", "titanic", cwd=titanic))
    assert "v2 (challenger) vs v1 (champion)" in compared and "compare-v2-vs-v1.json" in compared


def test_two_racing_promotions_leave_exactly_one_production_version(titanic: Path,
                                                                     tmp_path: Path) -> None:
    # seed 7 again: the same split and search, so the same (gate-passing) model as version 2
    text(run("run", "train", "--no-cache", "--params", "seed=7", cwd=titanic))
    assert alias(titanic, "staging") == 3
    outputs = [tmp_path / f"race-{v}.log" for v in (2, 3)]
    racers = [start("models", "promote", "titanic", str(v), "--reason", f"race {v}", cwd=titanic,
                    env=dict(os.environ), output=output) for v, output in
              zip((2, 3), outputs, strict=True)]
    for racer, output in zip(racers, outputs, strict=True):
        # the bound is only against a hang: a slow promote takes 30 s
        assert racer.wait(timeout=900) == 0, output.read_text()
    winner = alias(titanic, "production")
    assert winner in (2, 3)
    statuses = {v: tags["shipyard.status"] for v, tags in versions(titanic).items()}
    assert [v for v, s in statuses.items() if s == "production"] == [winner]
    loser = 5 - winner
    # the lock serialised them: the winner replaced the loser, which had replaced v1
    assert versions(titanic)[winner]["shipyard.previous_production"] == str(loser)
    assert versions(titanic)[loser]["shipyard.previous_production"] == "1"


def test_rollback_returns_production_to_the_previous_version(titanic: Path,
                                                             receiver: Receiver) -> None:
    current = alias(titanic, "production")
    done = text(run("models", "rollback", "titanic", "--reason", "latency regression",
                    cwd=titanic, env=ENV))
    previous = 5 - current
    assert f"production rolled back from v{current} to v{previous}" in done
    assert alias(titanic, "production") == previous
    assert versions(titanic)[current]["shipyard.status"] == "rolled_back"
    assert "model_rolled_back" in events(receiver)


def test_a_smoke_run_registers_nothing(titanic: Path) -> None:
    before = versions(titanic)
    done = text(run("run", "train", "--smoke", "--sample", "0.05", "--no-cache", cwd=titanic))
    assert "smoke run: nothing registered" in done
    assert versions(titanic).keys() == before.keys()


def metrics_of(root: Path, version: int) -> dict[str, str]:
    return {k: v for k, v in versions(root)[version].items() if k.startswith("metric.")}


def test_a_run_killed_mid_step_resumes_to_the_model_of_an_uninterrupted_run(
        titanic: Path) -> None:
    # seed 3 is new to this project, so the resumed run has to fit for real
    killed = run("run", "train", "--params", "seed=3", cwd=titanic,
                 env={"SHIPYARD_KILL_AT": "step:fit"}, check=None)
    assert killed.returncode == -signal.SIGKILL
    record = RunStore(Project.open(titanic, "dev").metadata_engine).latest()
    assert record.status == "running"  # the killed process could not say otherwise
    resumed = run("run", "train", "--resume", record.id, cwd=titanic, check=None)
    done = text(resumed)
    assert resumed.returncode in (0, 4), done  # 4: this split's model misses the gate
    assert f"split_passengers reused reused from run {record.id}" in done.replace("0 ms ", "")
    assert "fit succeeded" in done
    assert versions(titanic)[max(versions(titanic))]["shipyard.run_id"] != record.id


def test_the_dask_executor_trains_the_model_the_resumed_run_made(titanic: Path) -> None:
    resumed = max(versions(titanic))
    done = run("run", "train", "--executor", "dask", "--no-cache", "--params", "seed=3",
               cwd=titanic, check=None)
    assert done.returncode in (0, 4) and "3 step(s) ran" in text(done), text(done)
    assert metrics_of(titanic, max(versions(titanic))) == metrics_of(titanic, resumed)


def test_a_model_below_its_gate_exits_4_and_is_tagged_rejected(titanic: Path,
                                                               receiver: Receiver) -> None:
    config = titanic / "shipyard.yaml"
    config.write_text(config.read_text().replace('accuracy: ">= 0.75"', 'accuracy: ">= 0.99"'))
    staging, new = alias(titanic, "staging"), max(versions(titanic)) + 1
    done = run("run", "train", "--no-cache", "--params", "seed=9", cwd=titanic,
               env=ENV, check=4)
    message = text(done)
    assert re.search(rf"model 'titanic' version {new} failed its gate: accuracy 0\.\d+ fails "
                     r">= 0\.99", message), message
    assert versions(titanic)[new]["shipyard.status"] == "rejected"
    assert alias(titanic, "staging") == staging
    assert "model_rejected" in events(receiver)
    refused = text(run("models", "promote", "titanic", str(new), "--reason", "try", cwd=titanic,
                       check=1))
    assert "failed its gate and cannot be promoted" in refused
    assert f"shipyard models promote titanic {new} --force" in refused
    assert alias(titanic, "production") != new


def test_force_promotes_a_rejected_version_with_the_reason_audited(titanic: Path) -> None:
    rejected = max(versions(titanic))
    done = text(run("models", "promote", "titanic", str(rejected), "--force", "--reason",
                    "hotfix approved by ana", cwd=titanic, env={"SHIPYARD_USER": "ana"}))
    assert f"titanic version {rejected} is production without a passed gate" in done, done
    assert alias(titanic, "production") == rejected
    entry = AuditTrail(Project.open(titanic, "dev").metadata_engine).history("titanic")[0]
    assert (entry.version, entry.action, entry.actor, entry.reason) == (
        rejected, "force_promoted", "ana", "hotfix approved by ana")
    assert entry.details["gate"] == "failed"
