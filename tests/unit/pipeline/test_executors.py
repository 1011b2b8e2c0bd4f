"""One contract for every executor: the same pipeline gives the same outputs, keys and records.

Dask tests share one module-wide local cluster (starting one costs seconds); the projects name
it in ``pipelines.train.dask_address`` as a team would name their scheduler.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from shipyard import run_pipeline
from shipyard.errors import StepFailed
from shipyard.pipeline import RunStore
from shipyard.project import Project
from tests.unit.pipeline.test_project import demo_project, edit, plain_report


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(params=["local", "dask"])
def executor(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def project(tmp_path: Path, executor: str, request: pytest.FixtureRequest) -> Project:
    address = request.getfixturevalue("scheduler") if executor == "dask" else None
    return demo_project(tmp_path / "demo", dask_address=address)


def test_outputs_are_those_of_plain_calls_and_metrics_reach_mlflow(project: Project,
                                                                   executor: str) -> None:
    result = run_pipeline(project, "train", executor=executor)
    assert {s.status for s in result.steps} == {"succeeded"}
    assert result.load("report") == plain_report(project)
    record = RunStore(project.metadata_engine).get(result.run_id)
    assert record.executor == executor
    fit = next(s for s in record.steps if s.step == "fit")
    metrics = MlflowClient(project.tracking_uri).get_run(fit.mlflow_run_id).data.metrics
    assert metrics["coef"] == pytest.approx(3.0, abs=0.05)


def test_a_failing_step_is_recorded_with_its_traceback(project: Project, executor: str) -> None:
    with pytest.raises(StepFailed, match="step 'explode' failed") as error:
        run_pipeline(project, "broken", executor=executor)
    steps = {s.step: s for s in RunStore(project.metadata_engine).get(error.value.run_id).steps}
    assert steps["explode"].status == "failed" and "ValueError: boom" in steps["explode"].error
    assert "in explode" in steps["explode"].traceback
    assert steps["combine"].status == "skipped"


def test_each_run_executes_the_code_on_disk_now(project: Project, executor: str) -> None:
    run_pipeline(project, "train", executor=executor)
    edit(project.root / "pipeline.py", '"test_rows": len(test)}', '"test_rows": -1}')
    report = run_pipeline(project, "train", executor=executor).load("report")
    assert report["test_rows"] == -1


def test_executors_agree_on_keys_and_share_the_cache(tmp_path: Path, scheduler: str) -> None:
    local = demo_project(tmp_path / "a", dask_address=scheduler)
    on_dask = demo_project(tmp_path / "b", dask_address=scheduler)
    by_local = run_pipeline(local, "train", executor="local")
    by_dask = run_pipeline(on_dask, "train", executor="dask")
    assert [s.fingerprint for s in by_local.steps] == [s.fingerprint for s in by_dask.steps]
    assert by_local.load("report") == by_dask.load("report")
    assert by_local.load("dataset").equals(by_dask.load("dataset"))
    reused = run_pipeline(local, "train", executor="dask")
    assert {s.status for s in reused.steps} == {"reused"}
