"""Where a new experiment keeps its artifacts, by tracking store and state: the server's own
store, beside the state (as MLflow names the object store), or a clear refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import ConfigError
from shipyard.project import Project
from shipyard.tracking.setup import _artifact_root


def _project(root: Path, **env: str) -> Project:
    lines = "".join(f"    {key}: {value}\n" for key, value in env.items())
    (root / "shipyard.yaml").write_text(f"project: p\nenvironments:\n  dev:\n    lake: lake\n{lines}")
    return Project.open(root)


@pytest.mark.parametrize(("env", "expected"), [
    ({"tracking_uri": "http://mlflow:5000"}, None),
    ({"tracking_uri": "https://mlflow.example.com", "state": "s3://b/state"}, None),
    ({"tracking_uri": "postgresql://u@db/mlflow", "state": "s3://b/shop/state"},
     "s3://b/shop/state/mlartifacts"),
    ({"tracking_uri": "postgresql://u@db/mlflow", "state": "s3a://b/state"},
     "s3://b/state/mlartifacts"),
    ({"tracking_uri": "postgresql://u@db/mlflow",
      "state": "abfss://c@acct.dfs.core.windows.net/state"},
     "abfss://c@acct.dfs.core.windows.net/state/mlartifacts"),
])
def test_a_server_keeps_its_own_and_a_database_store_keeps_them_beside_the_state(
        tmp_path: Path, env: dict[str, str], expected: str | None) -> None:
    assert _artifact_root(_project(tmp_path, **env)) == expected


def test_the_embedded_default_keeps_them_in_the_state_folder(tmp_path: Path) -> None:
    assert _artifact_root(_project(tmp_path)) == (tmp_path / ".shipyard/dev/mlartifacts").as_uri()


def test_an_az_state_under_a_database_store_is_refused_naming_the_fixes(tmp_path: Path) -> None:
    project = _project(tmp_path, tracking_uri="postgresql://u@db/mlflow", state="az://c/state")
    with pytest.raises(ConfigError, match=r"no az:// artifact store.*tracking_uri to an MLflow "
                                          r"server.*abfss://"):
        _artifact_root(project)
