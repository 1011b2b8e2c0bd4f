"""``shipyard monitor trace`` on the Titanic example: from the X-Request-ID of one served
prediction to the version that answered, its training run, the lake versions it was trained on
and the git commit of the code. The project is made a git repository before it is trained, as a
team's project is, so the commit is recorded; then ``monitor compact`` keeps the request.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.e2e.examples import ExampleProjects, small
from tests.e2e.server import AUTH, http, serving


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=Shipyard tests", "-c",
                           "user.email=tests@shipyard.invalid", *args], cwd=root, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           example_projects: ExampleProjects) -> tuple[Path, str, str, dict[str, object]]:
    """(project, commit it was trained at, request id, the predicted row) of one request."""
    root = example_projects.copy("titanic-ingested", tmp_path_factory.mktemp("trace") / "titanic")
    small(root)
    (root / ".gitignore").write_text(".shipyard/\nlake/\n*.db\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "titanic")
    run("run", "train", cwd=root)
    run("models", "promote", "titanic", "1", "--reason", "first", cwd=root)
    with serving(root) as base:
        (row,) = http.get(f"{base}/v1/models/titanic/example", headers=AUTH).json()["rows"][:1]
        answer = http.post(f"{base}/v1/models/titanic/predict", headers=AUTH,
                           json={"rows": [row]})
        assert answer.status_code == 200, answer.text
    return root, _git(root, "rev-parse", "HEAD"), answer.headers["X-Request-ID"], row


def _output(done: subprocess.CompletedProcess[str]) -> str:
    return " ".join(f"{done.stdout}\n{done.stderr}".split())


def test_a_request_id_traces_to_version_run_data_and_commit(
        served: tuple[Path, str, str, dict[str, object]]) -> None:
    root, commit, request_id, row = served
    text = _output(run("monitor", "trace", request_id, cwd=root))
    assert f"request {request_id} · prediction" in text and "model titanic version 1" in text
    assert re.search(r"training run \(MLflow\): [0-9a-f]{32}", text), text
    assert re.search(r"pipeline run: \S+ \(pipeline train\)", text), text
    assert re.search(r"lake versions: \S+ v\d+", text), text
    assert f"git commit: {commit}" in text, text
    assert str(row["sex"]) in text and "probability" in text


def test_compaction_keeps_todays_request_and_an_unknown_id_says_where_it_looked(
        served: tuple[Path, str, str, dict[str, object]]) -> None:
    root, _, request_id, _ = served
    text = _output(run("monitor", "compact", cwd=root))
    assert re.search(r"predictions/titanic │ \d+ │ 1 │ 0 │ 0 │", text), text
    assert request_id in _output(run("monitor", "trace", request_id, cwd=root))
    done = run("monitor", "trace", "no-such-request", cwd=root, check=1)
    text = _output(done)
    assert "no request 'no-such-request' logged from" in text
    assert "monitoring.retention_days" in text and "Traceback" not in done.stderr
