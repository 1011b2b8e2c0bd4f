"""``shipyard run`` and ``shipyard runs`` as a user runs them, on a generated project.

Covers what only a real process shows: the printed tables, exit codes, and a run killed with
SIGKILL mid-step that is then resumed.
"""

from __future__ import annotations

import contextlib
import re
import signal
import socket
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from shipyard.cli.console import console
from shipyard.cli.main import app
from shipyard.pipeline import RunStore
from shipyard.pipeline.artifacts import load_value
from shipyard.pipeline.cache import ResultStore
from shipyard.project import Project
from tests.e2e.cli import run
from tests.unit.pipeline.test_project import demo_project, plain_report, points, write_points


def shipyard(monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """``shipyard ARGS`` in this process, for commands that only read records (fast)."""
    monkeypatch.setattr(console, "width", 200)
    done = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return _text(done)


def _text(done: object) -> str:
    """Output with table borders and line wrapping removed, for matching sentences."""
    raw = f"{done.stdout}\n{getattr(done, 'stderr', '')}"  # type: ignore[attr-defined]
    return " ".join(re.sub(r"[│┃┏┓┗┛┡┩└┘━─┳┻╇┼┬┴├┤╭╮╰╯]", " ", raw).split())


def _run_id(done: object) -> str:
    found = re.search(r"Run (train-\d{8}-\d{4}-[0-9a-f]{4}) succeeded", _text(done))
    assert found, _text(done)
    return found.group(1)


def test_a_first_run_a_cached_run_and_the_run_records(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    project = demo_project(tmp_path / "demo")
    first = run("run", "train", cwd=project.root)
    text = _text(first)
    first_id = _run_id(first)
    for name in ("prepare", "split", "checkpoint", "fit", "evaluate"):
        assert f"{name} succeeded" in text
    assert text.count("no cached result") == 5
    assert "5 step(s) ran, 0 reused" in text
    assert f"MLflow run: {RunStore(project.metadata_engine).get(first_id).mlflow_run_id}" in text

    cached = run("run", "train", "-p", str(project.root), cwd=tmp_path)
    text = _text(cached)
    assert text.count(f"reused from run {first_id}") == 5
    assert "0 step(s) ran, 5 reused" in text
    cached_id = _run_id(cached)

    listing = shipyard(monkeypatch, "runs", "ls", "-p", str(project.root))
    assert listing.index(cached_id) < listing.index(first_id)  # newest first

    shown = shipyard(monkeypatch, "runs", "show", first_id, "-p", str(project.root))
    assert f"run {first_id} of train (dev): succeeded" in shown
    assert "commit: not a git repository" in shown
    assert "data: curated.points@0" in shown
    assert "params: note='first', scale=2.0, seed=7, test_size=0.25" in shown
    assert f"snapshot: {project.state.where(f'snapshots/{first_id}.tar.gz')}" in shown
    assert re.search(r"fit coef (2\.9|3\.0)\d*", shown), shown
    assert "fit succeeded" in shown and "no cached result" in shown


def test_bad_input_exits_1_and_names_the_problem(tmp_path: Path) -> None:
    project = demo_project(tmp_path / "demo")
    bad = run("run", "train", "--params", "test_size=abc", cwd=project.root, check=1)
    assert "error: params.test_size: expected a float, got 'abc'" in _text(bad)


def test_a_failing_step_exits_1_naming_the_step_and_is_shown_with_its_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = demo_project(tmp_path / "demo")
    failed = _text(run("run", "broken", cwd=project.root, check=1))
    assert "explode failed" in failed and "combine skipped" in failed
    found = re.search(r"error: step 'explode' failed in run (broken-\S+): ValueError: boom",
                      failed)
    assert found, failed
    shown = shipyard(monkeypatch, "runs", "show", "latest", "-p", str(project.root))
    assert "traceback of step explode:" in shown
    assert 'raise ValueError(f"boom: {len(dataset)} rows is not enough")' in shown
    assert f"shipyard run broken --resume {found.group(1)}" in shown


def test_a_run_killed_with_sigkill_resumes_and_gives_the_uninterrupted_outputs(
        tmp_path: Path) -> None:
    project = demo_project(tmp_path / "demo")
    kill = {"SHIPYARD_TEST_KILL_MARKER": str(tmp_path / "killed-once")}
    killed = run("run", "train", cwd=project.root, env=kill, check=None)
    assert killed.returncode == -signal.SIGKILL
    store = RunStore(Project.open(project.root).metadata_engine)
    record = store.latest()
    assert record.status == "running"  # the process could not say otherwise
    assert {s.step: s.status for s in record.steps} == {
        "prepare": "succeeded", "split": "succeeded", "checkpoint": "running",
        "fit": "pending", "evaluate": "pending"}

    write_points(project.root, points(300, seed=1))  # new data: the resumed run keeps v0
    resumed = _text(run("run", "train", "--resume", record.id, cwd=project.root, env=kill))
    assert f"prepare reused reused from run {record.id}" in resumed.replace("0 ms ", "")
    assert "checkpoint succeeded" in resumed and "evaluate succeeded" in resumed
    new = store.get(_run_id_any(resumed))
    assert new.resumed_from == record.id and new.params == record.params
    assert new.data_versions == record.data_versions == {"curated.points": 0}

    killed_record = store.get(record.id)
    assert killed_record.status == "failed" and "interrupted" in killed_record.error
    assert {s.step: s.status for s in killed_record.steps}["checkpoint"] == "failed"
    assert MlflowClient(project.tracking_uri).get_run(
        killed_record.mlflow_run_id).info.status == "KILLED"

    evaluate = next(s for s in new.steps if s.step == "evaluate")
    results = ResultStore.of(Project.open(project.root))
    stored = results.lookup(evaluate.fingerprint)
    assert stored is not None
    assert results.load(stored, "report") == plain_report(project, version=0)


def _run_id_any(text: str) -> str:
    found = re.search(r"Run (train-\d{8}-\d{4}-[0-9a-f]{4}) succeeded", text)
    assert found, text
    return found.group(1)


def test_the_dask_executor_starts_a_local_cluster_for_the_run(tmp_path: Path) -> None:
    """… quietly: no INFO lines of ``distributed`` (about 35 before) and no dashboard on the
    fixed port 8787 (before: taken if free, and a warning if not, as here)."""
    project = demo_project(tmp_path / "demo")
    with contextlib.ExitStack() as stack:
        dashboard = stack.enter_context(socket.socket())
        with contextlib.suppress(OSError):  # if another process holds it, the point stands
            dashboard.bind(("127.0.0.1", 8787))
            dashboard.listen()
        finished = run("run", "train", "--executor", "dask", cwd=project.root)
    assert "distributed" not in finished.stderr and "8787" not in finished.stderr, finished.stderr
    done = _text(finished)
    record = RunStore(project.metadata_engine).get(_run_id_any(done))
    assert record.executor == "dask" and record.status == "succeeded"
    evaluate = next(s for s in record.steps if s.step == "evaluate")
    assert load_value({"kind": "json", "path": Path(evaluate.outputs["report"]).name},
                      Path(evaluate.outputs["report"]).parent) == plain_report(project)
