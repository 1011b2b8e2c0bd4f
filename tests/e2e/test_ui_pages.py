"""The web UI on the example projects: every page renders real data, signing in, roles and CSRF.

Driven in-process with FastAPI's TestClient against the app ``shipyard ui`` and ``shipyard
serve`` serve, on copies of the session-built example projects (the browser tests drive the
same pages in Chromium).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from shipyard.lake.batches import BatchRegister
from shipyard.lake.snapshots import Snapshots
from shipyard.lake.tables import DeltaStore
from shipyard.project import Project
from shipyard.serving import ApiKeys, create_app
from shipyard.tracking.records import RunStore
from shipyard.ui.app import standalone
from tests.e2e.cli import python, run, start
from tests.e2e.examples import ExampleProjects
from tests.e2e.server import PATIENCE_S, free_port, http, wait_for
from tests.signin import sign_in

OPERATOR = "operator-key-0123456789"
VIEWER = "viewer-key-0123456789"
KEYS = ApiKeys([OPERATOR, f"{VIEWER}:viewer"])


def signed_in(root: Path, key: str) -> tuple[TestClient, str]:
    """A client of the UI of ``root`` signed in with ``key``, and its session's CSRF token."""
    client = TestClient(standalone(root, KEYS, default_env="dev"), follow_redirects=False)
    assert sign_in(client, key).status_code == 303
    page = client.get("/ui/")
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    return client, token[1]


@pytest.fixture(scope="module")
def titanic(example_projects: ExampleProjects, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained and promoted: runs, a production model, three lake layers."""
    return example_projects.copy("titanic-trained", tmp_path_factory.mktemp("ui") / "titanic")


@pytest.fixture
def quarantined(example_projects: ExampleProjects, tmp_path: Path) -> tuple[Path, int]:
    """The small recommender with a drifted month rejected: (project, the rejected batch)."""
    root = example_projects.copy("recommender-small-ingested", tmp_path / "shop")
    python("erp.py", "next-month", "--drift", cwd=root)
    run("ingest", cwd=root, check=3)
    rejected = BatchRegister.of(Project.open(root)).find(status="rejected")
    assert rejected
    return root, rejected[-1].id


def test_overview_shows_ingest_runs_models_and_rules(titanic: Path) -> None:
    client, _ = signed_in(titanic, VIEWER)
    page = client.get("/ui/")
    assert page.status_code == 200
    latest = RunStore.of(Project.open(titanic)).latest("train")
    assert latest is not None and latest.id in page.text
    assert "landed" in page.text  # the last ingest's verdict
    assert re.search(r'badge production">v1<', page.text)  # titanic v1 is in production
    assert "no batch is waiting" in page.text
    for link in ("/ui/lake?env=dev", "/ui/runs?env=dev", "/ui/models?env=dev",
                 "/ui/monitoring?env=dev", "/ui/recommendations?env=dev"):
        assert f'href="{link}"' in page.text  # the navigation bar


def test_lake_pages_show_tables_versions_and_reports(titanic: Path) -> None:
    client, _ = signed_in(titanic, VIEWER)
    lake = client.get("/ui/lake")
    assert lake.status_code == 200
    for layer in ("RAW", "CLEAN", "CURATED"):
        assert f"<h2>{layer}</h2>" in lake.text
    store = DeltaStore.of(Project.open(titanic))
    for layer, names in Snapshots(store).current().tables().items():
        for name in names:
            assert f"/ui/lake/tables/{layer}/{name}?env=dev" in lake.text
            assert client.get(f"/ui/lake/tables/{layer}/{name}").status_code == 200
    batch = BatchRegister.of(Project.open(titanic)).find(status="landed")[0]
    page = client.get(f"/ui/lake/batches/{batch.id}")
    assert page.status_code == 200 and "Validation report" in page.text
    assert "Accept this batch" not in page.text  # landed: nothing to accept
    missing = client.get("/ui/lake/batches/9999")
    assert missing.status_code == 404 and "no batch 9999" in missing.text


def test_runs_list_filters_and_a_run_in_full(titanic: Path) -> None:
    client, _ = signed_in(titanic, VIEWER)
    record = RunStore.of(Project.open(titanic)).latest("train")
    assert record is not None
    listed = client.get("/ui/runs", params={"pipeline": "train", "status": "succeeded"})
    assert listed.status_code == 200 and record.id in listed.text
    none = client.get("/ui/runs", params={"status": "failed"})
    assert none.status_code == 200 and record.id not in none.text and "match these filters" in none.text
    page = client.get(f"/ui/runs/{record.id}")
    assert page.status_code == 200
    assert '<svg class="dag"' in page.text
    for step in record.steps:
        assert f'id="step-{step.step}"' in page.text and (step.reason or "") in page.text
    for table, version in record.data_versions.items():
        assert f"{table}@{version}" in page.text
    assert f"#/runs/{record.mlflow_run_id}" in page.text  # the run in MLflow's UI
    assert (record.git_commit or "not a git repository") in page.text


def test_a_viewer_cannot_accept_and_nothing_changes(quarantined: tuple[Path, int]) -> None:
    root, batch_id = quarantined
    client, token = signed_in(root, VIEWER)
    page = client.get(f"/ui/lake/batches/{batch_id}")
    assert page.status_code == 200 and "distribution shifted" in page.text
    assert "role is viewer" in page.text and "/accept" not in page.text  # no form offered
    refused = client.post(f"/ui/lake/batches/{batch_id}/accept",
                          data={"csrf_token": token, "reason": "looks fine"})
    assert refused.status_code == 403 and "role is viewer" in refused.text
    assert BatchRegister.of(Project.open(root)).get(batch_id).status == "rejected"


def test_a_forged_post_without_the_token_fails_and_an_operator_accepts(
        quarantined: tuple[Path, int]) -> None:
    root, batch_id = quarantined
    client, token = signed_in(root, OPERATOR)
    page = client.get(f"/ui/lake/batches/{batch_id}")
    assert f'action="/ui/lake/batches/{batch_id}/accept?env=dev"' in page.text
    assert '<script src="/ui/static/plotly.min.js">' in page.text  # distributions plotted
    forged = client.post(f"/ui/lake/batches/{batch_id}/accept", data={"reason": "forged"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    no_reason = client.post(f"/ui/lake/batches/{batch_id}/accept",
                            data={"csrf_token": token, "reason": "  "})
    assert no_reason.status_code == 400 and "say why" in no_reason.text
    register = BatchRegister.of(Project.open(root))
    assert register.get(batch_id).status == "rejected"
    done = client.post(f"/ui/lake/batches/{batch_id}/accept",
                       data={"csrf_token": token, "reason": "a bulk promotion month"})
    assert done.status_code == 303
    accepted = register.get(batch_id)
    assert accepted.status == "landed" and accepted.accept_reason == "a bulk promotion month"
    assert accepted.accepted_by is not None and "(web UI, operator key " in accepted.accepted_by
    assert accepted.role == "exception"  # the box was not ticked
    after = client.get(done.headers["location"])
    assert "landed with its ingest" in after.text and "Accept this batch" not in after.text
    assert "an exception: left out of the reference" in after.text


def test_an_operator_accepts_a_batch_as_the_new_normal(quarantined: tuple[Path, int]) -> None:
    root, batch_id = quarantined
    client, token = signed_in(root, OPERATOR)
    assert 'name="as_new_normal"' in client.get(f"/ui/lake/batches/{batch_id}").text
    done = client.post(f"/ui/lake/batches/{batch_id}/accept",
                       data={"csrf_token": token, "reason": "the new price list",
                             "as_new_normal": "1"})
    assert done.status_code == 303
    assert BatchRegister.of(Project.open(root)).get(batch_id).role == "new_normal"
    after = client.get(done.headers["location"])
    assert "the new normal: later batches are compared with it" in after.text


def test_the_api_server_serves_the_ui_at_ui(titanic: Path) -> None:
    client = TestClient(create_app(Project.open(titanic), KEYS), follow_redirects=False)
    assert client.get("/ui/").headers["location"].startswith("/ui/login")
    assert sign_in(client, VIEWER).status_code == 303
    assert client.get("/ui/runs").status_code == 200
    assert client.get("/health").status_code == 200


def test_api_and_docs_answers_carry_nosniff_and_a_content_security_policy(titanic: Path) -> None:
    client = TestClient(create_app(Project.open(titanic), KEYS), follow_redirects=False)
    auth = {"Authorization": f"Bearer {VIEWER}"}
    for path, headers in (("/health", {}), ("/ready", auth), ("/openapi.json", auth),
                          ("/v1/recommendations/nobody", auth), ("/ready", {})):
        answer = client.get(path, headers=headers)
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["content-security-policy"].startswith("default-src 'none'"), path
    docs = client.get("/docs", headers=auth)
    policy = docs.headers["content-security-policy"]
    assert docs.status_code == 200 and docs.headers["x-content-type-options"] == "nosniff"
    assert "script-src https://cdn.jsdelivr.net 'sha256-" in policy and "unsafe-inline" not in \
        policy.split("style-src")[0]
    page = client.get("/ui/login")  # the UI keeps its own policy, once
    assert page.headers.get_list("content-security-policy") == [
        page.headers["content-security-policy"]] and "script-src 'self'" in page.headers[
        "content-security-policy"]


def test_shipyard_ui_serves_the_ui_alone_with_roles_from_a_keys_file(titanic: Path,
                                                                     tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{VIEWER}:viewer  # analysts\n")
    port = free_port()
    process = start("ui", "--port", str(port), "--api-keys-file", str(keys), "--project-dir",
                    str(titanic), cwd=tmp_path, env=dict(os.environ), output=tmp_path / "ui.log")
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"shipyard ui exited: {(tmp_path / 'ui.log').read_text()}")
        try:
            return http.get(f"{base}/health").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, "shipyard ui answering")
        with httpx.Client(base_url=base, timeout=PATIENCE_S) as browser:
            assert browser.get("/").headers["location"] == "/ui/"
            assert sign_in(browser, VIEWER).status_code == 303
            page = browser.get("/ui/runs")
            assert page.status_code == 200 and "viewer key" in page.text
            assert "app;dur=" in page.headers["server-timing"]
    finally:
        process.terminate()
        process.wait(timeout=PATIENCE_S)
