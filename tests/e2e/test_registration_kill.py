"""``kill -9`` inside model registration, on the Titanic example, through the CLI.

A real ``shipyard run train`` is SIGKILLed at each named point of registration
(``shipyard.faults.REGISTRATION_POINTS``). The version it leaves must not be promotable, the run
record must say it was registering, and the next run (or ``--resume``) must finish the job:
the version gated and staged, each audit row written once, no MLflow run left RUNNING.
One project carries the story; each test is one chapter (the file runs in order).
"""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from shipyard.faults import REGISTRATION_POINTS
from shipyard.pipeline import RunStore
from shipyard.project import Project
from shipyard.registry import AuditTrail, comparison_key
from tests.e2e.cli import run
from tests.e2e.examples import ExampleProjects


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory, example_projects: ExampleProjects) -> Path:
    folder = tmp_path_factory.mktemp("registration") / "titanic"
    example_projects.copy("titanic-ingested", folder)
    config = folder / "shipyard.yaml"
    # two trials keep each run short; a low bar makes every seed pass its gate
    config.write_text(config.read_text().replace("trials: 20", "trials: 2")
                      .replace('accuracy: ">= 0.75"', 'accuracy: ">= 0.5"'))
    return folder


def text(done: subprocess.CompletedProcess[str]) -> str:
    raw = f"{done.stdout}\n{done.stderr}"
    return " ".join(re.sub(r"[│┃┏┓┗┛┡┩└┘━─┳┻╇┼┬┴├┤]", " ", raw).split())


def project(root: Path) -> Project:
    return Project.open(root, "dev")


def versions(root: Path) -> dict[int, dict[str, str]]:
    uri = project(root).tracking_uri
    found = MlflowClient(uri, uri).search_model_versions("name = 'titanic'")
    return {int(v.version): dict(v.tags) for v in found}


def alias(root: Path, name: str) -> int | None:
    uri = project(root).tracking_uri
    try:
        return int(MlflowClient(uri, uri).get_model_version_by_alias("titanic", name).version)
    except Exception:  # noqa: BLE001 - MLflow raises its own error for a missing alias
        return None


def actions(root: Path, version: int) -> list[str]:
    """Audit actions of ``version``, oldest first."""
    trail = AuditTrail(project(root).metadata_engine).history("titanic", limit=500)
    return [e.action for e in reversed(trail) if e.version == version]


def running_mlflow_runs(root: Path) -> list[str]:
    uri = project(root).tracking_uri
    client = MlflowClient(uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return [r.info.run_id for r in client.search_runs(ids, "attributes.status = 'RUNNING'")]


def kill_at(root: Path, point: str, seed: int) -> tuple[int | None, str]:
    """Run train with a new seed, SIGKILLed at ``point``; (version it left, its run id)."""
    before = set(versions(root))
    killed = run("run", "train", "--params", f"seed={seed}", cwd=root,
                 env={"SHIPYARD_KILL_AT": point}, check=None)
    assert killed.returncode == -signal.SIGKILL, text(killed)
    record = RunStore(project(root).metadata_engine).latest()
    assert record.status == "registering", record  # the steps were done, the gate was not
    new = set(versions(root)) - before
    assert len(new) <= 1
    return (new.pop() if new else None), record.id


def assert_finished(root: Path, version: int, killed_run: str) -> None:
    """The version went the whole way once, and the killed run is recorded as such."""
    tags = versions(root)[version]
    assert (tags["shipyard.registration"], tags["shipyard.gate"]) == ("compared", "passed")
    assert tags["shipyard.status"] in ("staging", "production"), tags
    assert alias(root, "staging") == version
    assert actions(root, version)[:2] == ["registered", "staged"], actions(root, version)
    assert actions(root, version).count("staged") == 1
    store = RunStore(project(root).metadata_engine)
    killed = store.get(killed_run)
    assert killed.status == "failed" and "interrupted" in killed.error
    assert "registration" in killed.error
    assert store.latest().status == "succeeded"
    assert running_mlflow_runs(root) == []


def test_a_version_killed_before_its_gate_cannot_be_promoted_and_a_rerun_gates_it(
        titanic: Path) -> None:
    version, killed_run = kill_at(titanic, "register:version-created", seed=1)
    assert version is not None
    tags = versions(titanic)[version]
    assert tags["shipyard.status"] == "registered" and "shipyard.gate" not in tags
    refused = run("models", "promote", "titanic", str(version), "--reason", "looks fine",
                  cwd=titanic, check=1)
    message = text(refused)
    assert f"model 'titanic' version {version} has not passed its gate" in message, message
    assert "shipyard run train" in message and "--force" in message
    assert alias(titanic, "production") is None
    assert "promoted" not in actions(titanic, version)

    shown = text(run("runs", "show", killed_run, cwd=titanic))
    assert f"run {killed_run} of train (dev): registering" in shown, shown
    assert f"{killed_run} registering" in text(run("runs", "ls", cwd=titanic))

    rerun = text(run("run", "train", "--params", "seed=1", cwd=titanic))
    assert "0 step(s) ran, 3 reused" in rerun, rerun
    assert (f"completed the registration of version {version}, interrupted in run "
            f"{killed_run}") in rerun
    assert set(versions(titanic)) == {version}  # continued, not registered again
    assert_finished(titanic, version, killed_run)
    listing = text(run("runs", "ls", cwd=titanic))
    assert f"{killed_run} failed" in listing, listing
    done = text(run("models", "promote", "titanic", str(version), "--reason", "gated now",
                    cwd=titanic))
    assert f"titanic version {version} is production" in done


@pytest.mark.parametrize(("point", "seed"), [(p, 10 + i) for i, p in
                                             enumerate(REGISTRATION_POINTS[1:])])
def test_a_run_killed_inside_registration_is_finished_by_the_next_run(
        titanic: Path, point: str, seed: int) -> None:
    version, killed_run = kill_at(titanic, point, seed)
    assert version is not None
    rerun = run("run", "train", "--params", f"seed={seed}", cwd=titanic)
    assert "0 step(s) ran, 3 reused" in text(rerun)
    assert_finished(titanic, version, killed_run)
    compared = versions(titanic)[version]
    assert compared["shipyard.run_id"] == killed_run
    champion = alias(titanic, "production")
    assert champion is not None
    # compared with the champion, or the comparison refused and audited: the small example's
    # split can leave too few rows that neither version was fitted on (compare_min_rows)
    assert (project(titanic).state.exists(comparison_key("titanic", version, champion))
            or "comparison_refused" in actions(titanic, version)), actions(titanic, version)


def test_resume_finishes_the_registration_of_a_killed_run(titanic: Path) -> None:
    version, killed_run = kill_at(titanic, "register:gated", seed=20)
    resumed = text(run("run", "train", "--resume", killed_run, cwd=titanic))
    assert f"completed the registration of version {version}" in resumed, resumed
    assert_finished(titanic, version, killed_run)


def test_a_killed_rejection_is_finished_as_a_rejection_with_exit_4(titanic: Path) -> None:
    config = titanic / "shipyard.yaml"
    config.write_text(config.read_text().replace('accuracy: ">= 0.5"', 'accuracy: ">= 0.99"'))
    staging = alias(titanic, "staging")
    version, killed_run = kill_at(titanic, "register:gated", seed=30)
    tags = versions(titanic)[version]
    assert (tags["shipyard.gate"], tags["shipyard.status"]) == ("failed", "rejected")
    rerun = text(run("run", "train", "--params", "seed=30", cwd=titanic, check=4))
    assert f"model 'titanic' version {version} failed its gate" in rerun
    assert actions(titanic, version) == ["registered", "rejected"]
    assert versions(titanic)[version]["shipyard.registration"] == "rejected"
    assert alias(titanic, "staging") == staging
    again = run("run", "train", "--params", "seed=30", cwd=titanic)  # finished: nothing to do
    assert actions(titanic, version) == ["registered", "rejected"], text(again)
    assert running_mlflow_runs(titanic) == []
    assert RunStore(project(titanic).metadata_engine).get(killed_run).status == "failed"
