"""Servers behind one Service share what a user relies on: the web UI's sessions.

Two ``shipyard serve`` processes, F and G, each started from a fresh folder holding only
shipyard.yaml, as two pods would be, with every store of the ``team`` environment a server of
the team stack (metadata in PostgreSQL, registry on the MLflow server, lake and state on S3).
A browser signed in through F is signed in through G, and still after F restarts. The model
they serve is trained and promoted from a third folder, as a developer or CI would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.cli import run
from tests.e2e.server import KEY, http, serving
from tests.e2e.team.conftest import TeamSpace
from tests.signin import sign_in as post_key

pytestmark = pytest.mark.slow

COOKIE = "shipyard_session"
TEAM_ENV = {
    "lake": "${SHIPYARD_LAKE}",
    "state": "${SHIPYARD_STATE}",
    "metadata_db": "${SHIPYARD_DB}",
    "results_db": "${SHIPYARD_DB}",
    "tracking_uri": "${MLFLOW_TRACKING_URI}",
}
"""The ``team`` environment written into the example: every store from the environment."""


@pytest.fixture
def trained(tmp_path: Path, team_space: TeamSpace) -> Path:
    """The titanic example with a ``team`` environment, its model (named after the space: the
    MLflow server is shared) trained and promoted there; the folder holds its shipyard.yaml."""
    developer = tmp_path / "developer"
    run("example", "titanic", str(developer), cwd=tmp_path)
    config = yaml.safe_load((developer / "shipyard.yaml").read_text())
    config["project"] = team_space.name
    config["environments"]["team"] = TEAM_ENV
    config["models"] = {team_space.name: config["models"].pop("titanic")}
    config["pipelines"]["train"]["tuning"]["trials"] = 2  # the model is not what is tested
    (developer / "shipyard.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    code = (developer / "pipeline.py").read_text()
    assert 'train_classifier("titanic"' in code
    (developer / "pipeline.py").write_text(
        code.replace('train_classifier("titanic"', f'train_classifier("{team_space.name}"'))
    # The developer's lake and state are folders of their own: the servers read neither (the
    # model comes from the registry), and ingest does not stage on an object store yet.
    local = {"SHIPYARD_LAKE": str(developer / "lake"), "SHIPYARD_STATE": str(developer / "state")}
    for args in (("ingest",), ("run", "train"),
                 ("models", "promote", team_space.name, "1", "--reason", "first")):
        run(*args, "--env", "team", cwd=developer, env=local)
    return developer / "shipyard.yaml"


def pod(trained: Path, folder: Path) -> Path:
    """A fresh folder with only the project's shipyard.yaml, as a pod's image holds it."""
    folder.mkdir()
    shutil.copy(trained, folder / "shipyard.yaml")
    return folder


def sign_in(base: str) -> str:
    """Sign in to the UI as a browser does (the key POSTed once); the session cookie."""
    with httpx.Client(timeout=http.timeout) as browser:
        done = post_key(browser, KEY, base=base)
    assert done.status_code == 303, done.text
    return done.cookies[COOKIE]


def signed_in(base: str, cookie: str) -> bool:
    """Whether the UI's overview opens with ``cookie`` (else it redirects to sign-in)."""
    page = httpx.get(f"{base}/ui/", cookies={COOKIE: cookie}, timeout=http.timeout)
    if page.status_code == 303:
        assert "/ui/login" in page.headers["location"]
        return False
    assert page.status_code == 200, page.text
    assert 'title="signed in with this key">operator key' in page.text
    return True


def test_a_session_signed_in_through_one_server_works_through_another_and_a_restart(
        tmp_path: Path, trained: Path) -> None:
    f, g = pod(trained, tmp_path / "f"), pod(trained, tmp_path / "g")
    with serving(g, "--env", "team") as through_g:
        with serving(f, "--env", "team") as through_f:
            cookie = sign_in(through_f)
            assert signed_in(through_f, cookie)
        assert signed_in(through_g, cookie)  # F has stopped: G alone knows the session
        with serving(f, "--env", "team") as restarted_f:
            assert signed_in(restarted_f, cookie)
            assert not signed_in(restarted_f, "not-a-session-" + "x" * 30)
