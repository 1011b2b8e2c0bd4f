"""The proof of team scale: each role from its own fresh, empty directory, as a pod would run it.

Every directory holds only what the image would put in a pod's working directory, the
project's ``shipyard.yaml`` and its code (``pipeline.py``), and runs the recommender example's
``team`` environment: the lake and the state on the object store, the metadata and results
in PostgreSQL, the registry on the MLflow server, steps on the Dask workers, the ERP on
PostgreSQL. Nothing is shared between the directories but those servers, and at the end not
one file was written into any of them. (Two ingests racing from two directories:
test_lake_team.py.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from shipyard.examples import create_example
from tests.e2e.cli import run
from tests.e2e.examples import small
from tests.e2e.server import AUTH, http, serving, wait_for
from tests.e2e.team.conftest import TeamSpace
from tests.signin import sign_in

pytestmark = pytest.mark.slow

ROLE_FILES = {"shipyard.yaml", "pipeline.py"}  # what the image puts in /app: config and code
ERP = ("--customers", "300", "--months", "6")  # a small ERP: the roles matter, not the data
MONITORING = """
serving: {{recommender: {model}}}
monitoring:
  rules:
    - {{kind: p99_latency_ms, target: {model}, threshold: 60000, window: 1d}}
"""


class Roles:
    """Fresh role directories of one project, and the ERP script run from outside them all.

    The model gets a name of the test's own: the registry of the one MLflow server is shared.
    """

    def __init__(self, base: Path, model: str) -> None:
        self.base = base
        self.model = model
        self.template = base / "project"
        create_example("recommender", self.template, customers=50, months=1)
        small(self.template, trials=2)
        config = self.template / "shipyard.yaml"
        text, found = re.subn(r"^models:\n  recommender:", f"models:\n  {model}:",
                              config.read_text(), flags=re.MULTILINE)
        assert found == 1, "the example no longer declares models.recommender"
        config.write_text(text + MONITORING.format(model=model))
        code = self.template / "pipeline.py"
        text, found = re.subn(r'train_recommender\("recommender"', f'train_recommender("{model}"',
                              code.read_text())
        assert found == 2, "the example's pipelines no longer register 'recommender'"
        code.write_text(text)
        self.dirs: list[Path] = []

    def dir(self, name: str) -> Path:
        folder = self.base / "roles" / name
        folder.mkdir(parents=True)
        for file in ROLE_FILES:
            shutil.copy(self.template / file, folder / file)
        self.dirs.append(folder)
        return folder

    def erp(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "erp.py", *args, "--url", os.environ["ERP_URL"]],
                              cwd=self.template, capture_output=True, text=True, timeout=600,
                              check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def written(self) -> list[str]:
        """Files in any role directory that it did not start with (none, at team scale)."""
        return sorted(str(path.relative_to(self.base)) for folder in self.dirs
                      for path in folder.rglob("*")
                      if path.is_file() and path.name not in ROLE_FILES)


def team(*args: str, cwd: Path, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    return run(*args, "--env", "team", cwd=cwd, check=check)


@pytest.fixture
def roles(tmp_path: Path, team_space: TeamSpace, monkeypatch: pytest.MonkeyPatch) -> Roles:
    # a container image has no writable bytecode cache beside the code
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("SHIPYARD_USER", f"{team_space.name}-ops")
    return Roles(tmp_path, f"rec_{team_space.name}")


def _lake_rows(table: str, key: str) -> tuple[int, int]:
    """Rows and distinct keys of a RAW table of the team lake, read as another process would."""
    import deltalake
    import pyarrow.compute as pc

    rows = deltalake.DeltaTable(f"{os.environ['SHIPYARD_LAKE']}/raw/{table}").to_pyarrow_table(
        columns=[key])
    return rows.num_rows, len(pc.unique(rows.column(key)))


def test_each_role_from_its_own_empty_directory_on_s3(roles: Roles, team_space: TeamSpace) -> None:
    roles.erp("init", *ERP)

    # ingest in A; the drifted month is quarantined in A and accepted from B
    a, b = roles.dir("A-ingest"), roles.dir("B-accept")
    team("ingest", cwd=a)
    roles.erp("next-month", "--drift")
    refused = team("ingest", cwd=a, check=3)
    assert "quarantine" in refused.stdout + refused.stderr
    accepted = team("quarantine", "accept", "latest", "--reason", "a real promotion", cwd=b)
    assert "accepted" in accepted.stdout
    rows, keys = _lake_rows("order_lines", "order_line_id")
    assert rows == keys

    # train in C (on the Dask workers); a second train in D reuses every step
    c, d = roles.dir("C-train"), roles.dir("D-train-again")
    first = team("run", "train", cwd=c)
    assert f"Model {roles.model} version 1 registered" in first.stdout, first.stdout
    again = team("run", "train", cwd=d)
    assert re.search(r"\b0 step\(s\) ran, [1-9]\d* reused", again.stdout), again.stdout
    assert f"{roles.model} version 2" not in again.stdout

    # promote from E; recommend in H
    e, h = roles.dir("E-promote"), roles.dir("H-recommend")
    team("models", "promote", roles.model, "1", "--reason", "first", cwd=e)
    team("recommend", "--model", roles.model, "--top", "10", cwd=h)

    # two servers in F and G serve the promoted version and hot-swap on the next promotion
    f, g = roles.dir("F-serve"), roles.dir("G-serve")
    answered = 0
    with ExitStack() as servers:
        bases = [servers.enter_context(serving(folder, "--env", "team", "--poll", "0.5"))
                 for folder in (f, g)]
        for base in bases:
            assert http.get(f"{base}/ready", headers=AUTH).json()["models"] == {roles.model: 1}
        for base in bases:
            for customer in ("C00001", "C00002", "C00003"):
                got = http.get(f"{base}/v1/recommendations/{customer}", headers=AUTH)
                assert got.status_code == 200, got.text
                answered += 1
        team("run", "baseline", cwd=roles.dir("C2-baseline"))
        team("models", "promote", roles.model, "2", "--reason", "the baseline", cwd=e)
        for base in bases:
            wait_for(lambda base=base: http.get(f"{base}/ready", headers=AUTH).json()["models"]
                     == {roles.model: 2}, f"{base} serving version 2")

        # the UI signed in through F works through G
        with httpx.Client(timeout=http.timeout) as browser:
            signed_in = sign_in(browser, AUTH["Authorization"][7:], base=bases[0])
            assert signed_in.status_code in (302, 303), signed_in.text
            page = browser.get(f"{bases[1]}/ui/", follow_redirects=False)
        assert page.status_code == 200 and "sign out" in page.text.lower(), page.text[:500]
    # both servers have stopped: their prediction logs are flushed to the lake

    # monitor check in I sees the requests answered by F and G
    i = roles.dir("I-monitor")
    checked = team("monitor", "check", cwd=i)
    assert f"{answered} answered requests" in " ".join(checked.stdout.split()), checked.stdout

    assert roles.written() == []


def test_quarantine_and_step_cache_on_azure(roles: Roles, team_space: TeamSpace,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_LAKE", f"{team_space.abfss_url}/lake")
    monkeypatch.setenv("SHIPYARD_STATE", f"{team_space.az_url}/state")
    roles.erp("init", *ERP)
    team("ingest", cwd=roles.dir("A"))
    roles.erp("next-month", "--drift")
    team("ingest", cwd=roles.dir("A2"), check=3)
    team("quarantine", "accept", "latest", "--reason", "real", cwd=roles.dir("B"))
    team("run", "baseline", cwd=roles.dir("C"))
    again = team("run", "baseline", cwd=roles.dir("D"))
    assert re.search(r"\b0 step\(s\) ran, [1-9]\d* reused", again.stdout), again.stdout
    assert roles.written() == []
