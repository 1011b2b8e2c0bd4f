"""Running pipelines in-process: caching and why steps run, params, failures, resume, records."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from shipyard import run_pipeline
from shipyard.errors import ModelRejected, PipelineError, ResumeRefused, StepFailed
from shipyard.pipeline import RunResult, RunStore, runner
from shipyard.pipeline.loader import coerce_param
from shipyard.project import Project
from shipyard.runs import Registration, project_hooks
from tests.unit.pipeline.test_project import (
    demo_project,
    edit,
    plain_report,
    points,
    write_points,
)


@pytest.fixture
def demo(tmp_path: Path) -> Project:
    return demo_project(tmp_path / "demo")


def _reasons(result: Any) -> dict[str, str]:
    return {s.name: s.reason for s in result.steps}


def _statuses(result: Any) -> dict[str, str]:
    return {s.name: s.status for s in result.steps}


def test_a_rerun_reuses_every_step_and_says_from_which_run(demo: Project) -> None:
    first = run_pipeline(demo, "train")
    assert set(_statuses(first).values()) == {"succeeded"}
    assert set(_reasons(first).values()) == {"no cached result"}
    assert first.load("report") == plain_report(demo)

    again = run_pipeline(demo, "train")
    assert set(_statuses(again).values()) == {"reused"}
    assert set(_reasons(again).values()) == {f"reused from run {first.run_id}"}
    assert again.load("report") == first.load("report")
    assert [s.fingerprint for s in again.steps] == [s.fingerprint for s in first.steps]

    forced = run_pipeline(demo, "train", no_cache=True)
    assert set(_reasons(forced).values()) == {"--no-cache"}


def test_a_changed_param_reruns_its_step_and_what_is_downstream_only(demo: Project) -> None:
    run_pipeline(demo, "train")
    changed = run_pipeline(demo, "train", params={"seed": "8"})
    assert changed.params["seed"] == 8
    assert _statuses(changed) == {"prepare": "reused", "split": "succeeded",
                                  "checkpoint": "succeeded", "fit": "succeeded",
                                  "evaluate": "succeeded"}
    reasons = _reasons(changed)
    assert reasons["split"] == "params changed: seed"
    assert reasons["checkpoint"] == "input train_set changed"
    assert reasons["fit"] == "params changed: seed; input train_set changed"
    assert reasons["evaluate"] == ("input model changed; input rows changed; "
                                   "input test_set changed")
    assert changed.load("report") == plain_report(demo, seed=8)


def test_changed_code_reruns_the_step_that_calls_it_and_downstream(demo: Project) -> None:
    first = run_pipeline(demo, "train")
    edit(demo.root / "pipeline.py", "test = data.sample(", "test = data.sample(n=None, ")
    changed = run_pipeline(demo, "train")
    assert _statuses(changed)["prepare"] == "reused"
    assert _reasons(changed)["split"] == "code of split changed"

    edit(demo.root / "helpers.py", "values * 2", "values + values + 0")
    helper_changed = run_pipeline(demo, "train")
    assert _reasons(helper_changed)["prepare"] == "code of helpers changed"
    assert _reasons(helper_changed)["split"] == "input dataset changed"
    assert helper_changed.load("report") == first.load("report")  # same maths, new code


def test_new_data_is_read_at_its_version_and_the_version_is_recorded(demo: Project) -> None:
    run_pipeline(demo, "train")
    assert write_points(demo.root, points(300, seed=1)) == 1
    fresh = run_pipeline(demo, "train")
    assert fresh.data_versions == {"curated.points": 1}
    assert _reasons(fresh)["prepare"] == "data version curated.points 0→1"
    model = fresh.load("model")
    assert model["versions"] == {"curated.points": 1}
    assert model["mlflow_parent"] == fresh.tracking_run_id
    assert fresh.load("report")["train_rows"] + fresh.load("report")["test_rows"] == 300


def test_a_pinned_version_is_read_even_when_newer_data_exists(demo: Project) -> None:
    write_points(demo.root, points(300, seed=1))
    result = run_pipeline(demo, "pinned")
    assert result.data_versions == {"curated.points": 0}
    assert len(result.load("dataset")) == 200


def test_smoke_mode_samples_the_lake_deterministically_and_tunes_one_trial(
        demo: Project) -> None:
    full = run_pipeline(demo, "train")
    assert full.load("model")["trials"] == 5 and full.load("model")["smoke"] is False
    smoke = run_pipeline(demo, "train", smoke=True, sample=0.5)
    assert smoke.load("model")["trials"] == 1 and smoke.load("model")["smoke"] is True
    report = smoke.load("report")
    assert report["train_rows"] + report["test_rows"] == 100
    assert _reasons(smoke)["prepare"] == "data version curated.points 0→0~0.5"
    again = run_pipeline(demo, "train", smoke=True, sample=0.5, no_cache=True)
    assert again.load("dataset").equals(smoke.load("dataset"))


@pytest.mark.parametrize(("declared", "given", "expected"), [
    (0.25, "0.3", 0.3), (0.25, "1", 1.0), (7, "8", 8), (True, "no", False), ("a", "b", "b"),
    ([1], "[1, 2]", [1, 2]), (None, "3", 3), (0.5, 1, 1.0),
])
def test_cli_strings_become_the_type_of_the_declared_default(declared: Any, given: Any,
                                                             expected: Any) -> None:
    assert coerce_param("p", declared, given) == expected


@pytest.mark.parametrize(("params", "message"), [
    ({"test_size": "abc"}, "params.test_size: expected a float, got 'abc'"),
    ({"seed": "1.5"}, "params.seed: expected an integer, got '1.5'"),
    ({"sed": "1"}, ("params.sed: not declared in pipelines.train.params (declared: note, "
                    "scale, seed, test_size); declare it there with a default")),
])
def test_bad_params_are_refused_before_anything_runs(demo: Project, params: dict[str, str],
                                                     message: str) -> None:
    with pytest.raises(PipelineError) as error:
        run_pipeline(demo, "train", params=params)
    assert str(error.value) == message
    assert RunStore(demo.metadata_engine).recent() == []


def test_a_failing_step_is_recorded_with_its_traceback_and_resumes_after_a_fix(
        demo: Project) -> None:
    with pytest.raises(StepFailed, match=r"step 'explode' failed in run broken-\S+: "
                                         r"ValueError: boom: 200 rows is not enough") as error:
        run_pipeline(demo, "broken")
    run_id = error.value.run_id
    store = RunStore(demo.metadata_engine)
    record = store.get(run_id)
    assert record.status == "failed" and "boom" in record.error
    steps = {s.step: s for s in record.steps}
    assert steps["prepare"].status == "succeeded"
    assert steps["explode"].status == "failed"
    assert 'raise ValueError(f"boom:' in steps["explode"].traceback
    assert steps["combine"].status == "skipped"
    assert steps["combine"].reason == "not run: step 'explode' failed"
    parent = MlflowClient(demo.tracking_uri).get_run(record.mlflow_run_id)
    assert parent.info.status == "FAILED"

    with pytest.raises(ResumeRefused, match="repeats that run's params"):
        run_pipeline(demo, "broken", resume=run_id, params={"scale": "2"})
    with pytest.raises(ResumeRefused, match="is a run of pipeline 'broken', not 'train'"):
        run_pipeline(demo, "train", resume=run_id)

    store.update(run_id, status="running")  # as if its process were still at work
    with pytest.raises(ResumeRefused, match=f"run {run_id} is still running"):
        run_pipeline(demo, "broken", resume=run_id)
    store.update(run_id, status="failed")

    edit(demo.root / "pipeline.py", 'raise ValueError(f"boom: {len(dataset)} rows is not enough")',
         "return len(dataset)")
    resumed = run_pipeline(demo, "broken", resume=run_id)
    assert _statuses(resumed) == {"prepare": "reused", "explode": "succeeded",
                                  "combine": "succeeded"}
    assert resumed.load("total") == 400
    assert store.get(resumed.run_id).resumed_from == run_id
    with pytest.raises(ResumeRefused, match="succeeded; there is nothing to resume"):
        run_pipeline(demo, "broken", resume=resumed.run_id)


def test_a_run_is_recorded_in_the_database_and_in_mlflow(demo: Project) -> None:
    result = run_pipeline(demo, "train", params={"note": "tagged"})
    record = RunStore(demo.metadata_engine).get(result.run_id)
    assert record.status == "succeeded" and record.pipeline == "train"
    assert record.duration_s is not None and record.finished_at > record.started_at
    assert record.params == {"scale": 2.0, "seed": 7, "test_size": 0.25, "note": "tagged"}
    assert record.data_versions == {"curated.points": 0} and record.env == "dev"
    assert (record.git_commit, record.git_dirty) == (None, None)  # not a git repository
    assert record.executor == "local" and record.smoke is False
    assert record.environment["python"] and record.mlflow_run_id == result.tracking_run_id
    assert [s.step for s in record.steps] == ["prepare", "split", "checkpoint", "fit",
                                              "evaluate"]
    fit = record.steps[3]
    assert fit.status == "succeeded" and fit.duration_s > 0 and fit.fingerprint
    assert Path(fit.outputs["model"]).is_file()
    with tarfile.open(record.snapshot_path) as tar:
        assert sorted(tar.getnames()) == ["helpers.py", "pipeline.py", "shipyard.yaml"]

    client = MlflowClient(demo.tracking_uri)
    parent = client.get_run(result.tracking_run_id)
    assert parent.data.tags["shipyard.run_id"] == result.run_id
    assert parent.data.tags["shipyard.data.curated.points"] == "0"
    assert parent.data.tags["shipyard.env"] == "dev"
    # the same lineage builder as a registered model's: a missing commit reads "unknown"
    assert (parent.data.tags["shipyard.git_commit"], parent.data.tags["shipyard.git_dirty"]) == (
        "unknown", "unknown")
    assert parent.data.params["note"] == "tagged"
    assert [a.path for a in client.list_artifacts(parent.info.run_id, "shipyard")] == [
        f"shipyard/{result.run_id}.tar.gz"]
    nested = client.get_run(fit.mlflow_run_id)
    assert nested.data.tags["mlflow.parentRunId"] == result.tracking_run_id
    assert nested.data.metrics["coef"] == pytest.approx(3.0, abs=0.05)
    assert nested.data.metrics["duration_s"] > 0


def test_git_commit_and_dirty_flag_are_recorded(demo: Project) -> None:
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(demo.root), *args], check=True, capture_output=True)

    git("init", "-q")
    (demo.root / ".gitignore").write_text(".shipyard/\nlake/\n")
    git("add", ".")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "x")
    clean = RunStore(demo.metadata_engine).get(run_pipeline(demo, "train").run_id)
    assert clean.git_commit and len(clean.git_commit) == 40 and clean.git_dirty is False
    edit(demo.root / "helpers.py", "values * 2", "values * 2.0")
    dirty = RunStore(demo.metadata_engine).get(run_pipeline(demo, "train").run_id)
    assert dirty.git_commit == clean.git_commit and dirty.git_dirty is True


@pytest.mark.postgres
def test_run_records_work_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    project = demo_project(tmp_path / "pg", metadata_db=pg_url)
    assert project.metadata_engine.dialect.name == "postgresql"
    first = run_pipeline(project, "train")
    again = run_pipeline(project, "train")
    store = RunStore(project.metadata_engine)
    assert [r.id for r in store.recent()] == [again.run_id, first.run_id]
    record = store.get(again.run_id)
    assert record.started_at.tzinfo is not None
    assert {s.status for s in record.steps} == {"reused"}
    assert record.steps[0].reused_from == first.run_id
    with pytest.raises(StepFailed):
        run_pipeline(project, "broken")
    assert store.latest().status == "failed" and store.latest().steps[1].traceback


class Calls(list[tuple[str, RunResult]]):
    """Calls of the stand-in registry; what the run record and MLflow said during each."""

    def __init__(self) -> None:
        super().__init__()
        self.registered: set[str] = set()
        self.seen: list[tuple[str, str]] = []
        self.fail_once: set[str] = set()

    def register_trained(self, project: Project, trained: Any, run: RunResult) -> None:
        self.append((trained.name, run))
        record = RunStore(project.metadata_engine).get(run.run_id)
        parent = MlflowClient(project.tracking_uri).get_run(run.tracking_run_id)
        self.seen.append((record.status, parent.info.status))
        if trained.name in self.fail_once:
            self.fail_once.remove(trained.name)
            raise RuntimeError("registry unreachable")
        self.registered.add(trained.tags["shipyard.fingerprint"])
        if trained.name == "demo_reject":
            raise ModelRejected("demo_reject: accuracy 0.1 < 0.75")

    def run(self, project: Project, pipeline: str, **options: Any) -> RunResult:
        """The runner with the project's hooks, its registration handed to this stand-in."""
        registration = Registration(
            project, register=self.register_trained,
            registered=lambda project, name, fingerprint: fingerprint in self.registered)
        return runner.run_with_hooks(
            project, pipeline, hooks=project_hooks(project, registration=registration),
            **options)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """A stand-in registry flow and TrainedModel storage, so these tests need neither."""
    from shipyard.train.trained import TrainedModel

    def save(self: TrainedModel, path: Path) -> None:
        (path / "name.txt").write_text(self.name)

    def load(cls: type[TrainedModel], path: Path) -> TrainedModel:
        trained = cls.__new__(cls)
        trained.name = (path / "name.txt").read_text()
        trained.tags = {}
        return trained

    def stored_name(path: Path) -> str:
        return (path / "name.txt").read_text()

    monkeypatch.setattr(TrainedModel, "save", save)
    monkeypatch.setattr(TrainedModel, "load", classmethod(load))
    monkeypatch.setattr(TrainedModel, "stored_name", staticmethod(stored_name))
    return Calls()


def test_trained_models_are_registered_once_after_a_successful_run(
        demo: Project, registry: Calls) -> None:
    registry.run(demo, "model", smoke=True)
    assert registry == []  # smoke runs register nothing
    result = registry.run(demo, "model")
    assert [name for name, _ in registry] == ["demo_200"]
    info = registry[0][1]
    assert info is result  # the run's lineage: its id, MLflow run, commit, data, params
    assert (info.pipeline, info.git_commit, info.data_versions, info.params, info.smoke) == (
        "model", None, {"curated.points": 0}, {"scale": 1.0}, False)
    registry.run(demo, "model")
    assert len(registry) == 1  # reused from a run that registered it already


def test_a_rejected_model_fails_the_command_after_the_run_is_recorded(
        demo: Project, registry: Calls) -> None:
    edit(demo.root / "pipeline.py", 'trained.name = f"demo_{len(dataset)}"',
         'trained.name = "demo_reject"')
    with pytest.raises(ModelRejected):
        registry.run(demo, "model")
    assert RunStore(demo.metadata_engine).latest().status == "succeeded"


def test_the_record_says_registering_until_the_models_are_registered(
        demo: Project, registry: Calls) -> None:
    result = registry.run(demo, "model")
    assert registry.seen == [("registering", "RUNNING")]
    assert RunStore(demo.metadata_engine).get(result.run_id).status == "succeeded"
    assert MlflowClient(demo.tracking_uri).get_run(
        result.tracking_run_id).info.status == "FINISHED"


def test_a_failed_registration_fails_the_run_and_the_next_run_registers_again(
        demo: Project, registry: Calls) -> None:
    registry.fail_once.add("demo_200")
    with pytest.raises(RuntimeError, match="registry unreachable"):
        registry.run(demo, "model")
    store = RunStore(demo.metadata_engine)
    failed = store.latest()
    assert failed.status == "failed"
    assert failed.error == "registration failed: RuntimeError: registry unreachable"
    assert MlflowClient(demo.tracking_uri).get_run(failed.mlflow_run_id).info.status == "FAILED"
    again = registry.run(demo, "model")
    assert set(_statuses(again).values()) == {"reused"}
    assert [name for name, _ in registry] == ["demo_200", "demo_200"]
    assert store.get(again.run_id).status == "succeeded"


def test_a_run_killed_while_registering_is_closed_and_resumed_to_its_registration(
        demo: Project, registry: Calls) -> None:
    killed = registry.run(demo, "model")
    # make it what SIGKILL leaves: record registering, MLflow runs open, process gone
    registry.registered.clear()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store = RunStore(demo.metadata_engine)
    store.update(killed.run_id, status="registering", finished_at=None, pid=gone.pid)
    client = MlflowClient(demo.tracking_uri)
    client.update_run(killed.tracking_run_id, status="RUNNING")
    parent = client.get_run(killed.tracking_run_id)
    trial = client.create_run(parent.info.experiment_id,
                              tags={"mlflow.parentRunId": killed.tracking_run_id})

    resumed = registry.run(demo, "model", resume=killed.run_id)
    record = store.get(killed.run_id)
    assert record.status == "failed"
    assert "interrupted" in record.error and "registration is finished by the next" in record.error
    assert client.get_run(killed.tracking_run_id).info.status == "KILLED"
    assert client.get_run(trial.info.run_id).info.status == "KILLED"
    assert [name for name, _ in registry] == ["demo_200", "demo_200"]
    assert registry[1][1].run_id == resumed.run_id
    assert store.get(resumed.run_id).status == "succeeded"
    assert store.get(resumed.run_id).resumed_from == killed.run_id


def test_a_live_registering_run_is_left_alone(demo: Project, registry: Calls) -> None:
    first = registry.run(demo, "model")
    store = RunStore(demo.metadata_engine)
    store.update(first.run_id, status="registering")  # this very process: alive
    registry.run(demo, "model")
    assert store.get(first.run_id).status == "registering"
    with pytest.raises(ResumeRefused, match=f"run {first.run_id} is still registering"):
        registry.run(demo, "model", resume=first.run_id)


def test_upgrading_a_library_a_step_uses_re_runs_it(demo: Project,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from shipyard.pipeline import fingerprint

    first = run_pipeline(demo, "train")
    assert set(_statuses(first).values()) == {"succeeded"}
    installed = fingerprint._version

    def upgraded(distribution: str) -> str | None:
        return "99.0" if distribution == "numpy" else installed(distribution)

    monkeypatch.setattr(fingerprint, "_version", upgraded)  # as if numpy had been upgraded
    again = run_pipeline(demo, "train")
    assert again.step("fit").status == "succeeded"  # fit calls np.polyfit: not reused
    assert "library numpy" in again.step("fit").reason and "→99.0" in again.step("fit").reason
    monkeypatch.setattr(fingerprint, "_version", installed)
    back = run_pipeline(demo, "train")
    assert set(_statuses(back).values()) == {"reused"}  # the old results fit the old numpy


def test_a_failed_step_alerts_the_webhooks_through_the_project_hooks(demo: Project) -> None:
    from tests.receiver import Receiver

    with Receiver() as receiver:
        config = demo.root / "shipyard.yaml"
        config.write_text(config.read_text() + (
            f"alerts:\n  webhooks:\n    - {{name: ops, kind: json, url: '{receiver.url}/ops',"
            f" events: [run_failed], retries: 0}}\n"))
        project = Project.open(demo.root)
        with pytest.raises(StepFailed) as failed:
            run_pipeline(project, "broken")
        with pytest.raises(StepFailed):  # the bare runner, without hooks, alerts nobody
            runner.run_with_hooks(project, "broken")
        [request] = receiver.requests
    assert request.json["event"] == "run_failed"
    assert request.json["details"]["step"] == "explode"
    assert request.json["details"]["run_id"] == failed.value.run_id  # type: ignore[attr-defined]


def test_a_trained_result_gone_from_the_state_store_fails_registration_by_name(
        demo: Project, registry: Calls) -> None:
    result = registry.run(demo, "model")
    shutil.rmtree(demo.state.path("artifacts"))  # removed between the step and registration
    registration = Registration(demo, register=registry.register_trained)
    with pytest.raises(PipelineError, match=r"step '\w+' succeeded but its result is gone.*"
                                            r"--no-cache"):
        registration.after_run(result)
