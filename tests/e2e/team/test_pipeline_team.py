"""Training at team scale leaves nothing on the trainer's disk: the step cache and the code
snapshot are in the state store (S3), the run records in PostgreSQL, the model on the MLflow
server (its artifacts proxied to S3).

The Titanic example is ingested once from a setup folder; then two fresh folders, each holding
only the project's code and shipyard.yaml, as a pod's checkout would, train in turn. The second
(asking for the team's Dask cluster) finds every step in the shared cache and registers nothing
new; a server started in a third serves the model from the tracking server. Two servers and
the rest of the roles: test_roles.py.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import obstore
import pytest
import yaml
from mlflow.tracking import MlflowClient
from obstore.store import from_url
from teamstack.team import BUCKET

from tests.e2e.cli import run
from tests.e2e.examples import small
from tests.e2e.server import AUTH, http, serving
from tests.e2e.team.conftest import TeamSpace

pytestmark = pytest.mark.slow

CODE = ("shipyard.yaml", "pipeline.py", "source.py")
"""What a fresh folder gets: the configuration and the project's Python files, no data."""


def _team_project(root: Path, space: TeamSpace) -> str:
    """Point the example at the team's stores and give its names this test's own (projects and
    models share the one MLflow server); returns the model name."""
    name = f"titanic_{space.name}"
    small(root, trials=2)
    config = yaml.safe_load((root / "shipyard.yaml").read_text())
    config["project"] = name
    config["environments"]["dev"] = {
        "lake": f"{space.s3_url}/lake", "metadata_db": space.db_url,
        "tracking_uri": "${MLFLOW_TRACKING_URI}"}
    # the second run asks for Dask: the stack's scheduler (every step is reused, none runs)
    config["environments"]["dev"]["dask_address"] = "${DASK_SCHEDULER_ADDRESS}"
    config["pipelines"]["train"]["executor"] = "local"  # the first trains here (Dask: test_roles)
    config["models"] = {name: config["models"]["titanic"]}
    (root / "shipyard.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    pipeline = root / "pipeline.py"
    code, found = re.subn(r'train_classifier\("titanic"', f'train_classifier("{name}"',
                          pipeline.read_text())
    assert found == 1, "the example's pipeline no longer names its model 'titanic'"
    pipeline.write_text(code)
    return name


def _state_in(root: Path, url: str) -> None:
    config = yaml.safe_load((root / "shipyard.yaml").read_text())
    config["environments"]["dev"]["state"] = url
    (root / "shipyard.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _fresh(setup: Path, folder: Path) -> set[str]:
    folder.mkdir()
    for file in CODE:
        shutil.copy(setup / file, folder / file)
    return set(CODE)


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if "__pycache__" not in p.parts and not p.is_dir()}


def _text(done: object) -> str:
    return " ".join(f"{done.stdout}\n{done.stderr}".split())  # type: ignore[attr-defined]


def test_two_fresh_folders_train_from_the_shared_stores_alone(team_space: TeamSpace,
                                                            tmp_path: Path) -> None:
    setup = tmp_path / "setup"
    run("example", "titanic", str(setup), cwd=tmp_path)
    name = _team_project(setup, team_space)
    run("ingest", cwd=setup)  # its quarantine and reports stay in the setup folder, for now
    _state_in(setup, f"{team_space.s3_url}/state")

    first_dir, second_dir = tmp_path / "c", tmp_path / "d"
    copied = _fresh(setup, first_dir)
    first = _text(run("run", "train", cwd=first_dir))
    assert "3 step(s) ran, 0 reused" in first, first
    copied_again = _fresh(setup, second_dir)
    second = _text(run("run", "train", "--executor", "dask", cwd=second_dir))
    assert "0 step(s) ran, 3 reused" in second, second

    # nothing was written beside the code, in either folder
    assert _files(first_dir) == copied and _files(second_dir) == copied_again

    # the step cache, with its manifests, and the snapshots are in the state store
    state = [m["path"] for m in obstore.list(from_url(f"{team_space.s3_url}/state")).collect()]
    assert sum(k.startswith("artifacts/") and k.endswith("/manifest.json") for k in state) == 3
    assert sum(k.startswith("snapshots/") for k in state) == 2

    # one version, registered by the first run; its files are on the server, in the bucket.
    # The registry URI is given too: MlflowClient otherwise takes the one an earlier test in
    # this process set with mlflow.set_registry_uri.
    uri = os.environ["MLFLOW_TRACKING_URI"]
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    versions = client.search_model_versions(f"name = '{name}'")
    assert [v.version for v in versions] == ["1"], (name, first, second)
    run_id = versions[0].run_id
    assert client.get_run(run_id).info.artifact_uri.startswith("mlflow-artifacts:/")
    served = [m["path"] for m in
              obstore.list(from_url(f"s3://{BUCKET}/mlflow-artifacts")).collect()]
    experiment = client.get_run(run_id).info.experiment_id
    assert any(k.startswith(f"{experiment}/") and k.endswith("MLmodel") for k in served), served

    # a server started in yet another fresh folder loads the model from the tracking server
    run("models", "promote", name, "1", "--reason", "team test", cwd=second_dir)
    server_dir = tmp_path / "e"
    _fresh(setup, server_dir)
    with serving(server_dir) as base:
        assert http.get(f"{base}/ready", headers=AUTH).json()["models"] == {name: 1}
