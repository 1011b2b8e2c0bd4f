"""The Models, Monitoring and Recommendations pages in-process, on a small project whose
registry holds versions with tags only: what each shows, and that promote and roll back move
the aliases with an audit row naming the UI key, for operators only and with a CSRF token."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shipyard.project import Project
from shipyard.registry import AuditTrail, Registry
from shipyard.registry.client import GATE, REGISTRATION, STATUS
from shipyard.serving.auth import ApiKeys
from shipyard.ui.app import standalone
from tests.signin import sign_in

OPERATOR = "o" * 24
VIEWER = "v" * 24
YAML = """\
project: tiny
environments: {dev: {lake: lake}}
pipelines: {train: {function: "jobs:train"}}
models: {titanic: {pipeline: train, primary_metric: roc_auc}}
monitoring:
  rules:
    - {kind: lake_age, threshold: 26h}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "shipyard.yaml").write_text(YAML)
    registry = Registry.of(Project.open(tmp_path))
    registry.client.create_registered_model("titanic")
    for version, gate in ((1, "passed"), (2, "failed"), (3, "passed")):
        registry.client.create_model_version("titanic", tmp_path.as_uri(), tags={
            GATE: gate, REGISTRATION: "compared", STATUS: "registered",
            "metric.roc_auc": f"0.{80 + version}"})
    registry.set_alias("titanic", "production", 1)
    registry.set_alias("titanic", "staging", 3)
    return tmp_path


def signed_in(root: Path, key: str) -> tuple[TestClient, str]:
    """A client signed in with ``key``, and its session's CSRF token."""
    client = TestClient(standalone(root, ApiKeys([OPERATOR, f"{VIEWER}:viewer"]),
                                   default_env="dev"), follow_redirects=False)
    assert sign_in(client, key).status_code == 303
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ui/models/titanic").text)
    assert token
    return client, token[1]


def production(root: Path) -> int | None:
    return Registry.of(Project.open(root)).alias("titanic", "production")


def test_the_models_page_shows_versions_and_offers_only_what_may_be_done(root: Path) -> None:
    client, _ = signed_in(root, OPERATOR)
    assert client.get("/ui/models").headers["location"] == "/ui/models/titanic?env=dev"
    page = client.get("/ui/models/titanic").text
    assert page.count('<tr data-version="') == 3 and "0.830" in page
    promote = re.search(r'<form[^>]*id="promote".*?</form>', page, re.DOTALL)
    assert promote is not None
    assert '<option value="3" selected>' in promote[0]  # passed its gate, not production
    assert '<option value="2"' not in promote[0]  # failed: only with --force, from the CLI
    assert "never compared" in page  # no saved report for v3 against v1 yet
    assert "nothing to roll back to" in page


def test_an_operator_promotes_and_rolls_back_with_the_key_in_the_audit_trail(root: Path) -> None:
    client, token = signed_in(root, OPERATOR)
    done = client.post("/ui/models/titanic/promote?env=dev",
                       data={"version": "3", "reason": "better", "csrf_token": token})
    assert done.status_code == 303 and production(root) == 3
    page = client.get(done.headers["location"]).text
    assert "titanic version 3 is production (was v1, now archived)" in page
    assert "roll back to v1" in page
    (newest, *_) = AuditTrail.of(Project.open(root)).history("titanic")
    assert (newest.action, newest.reason) == ("promoted", "better")
    assert "web UI" in newest.actor and "operator key" in newest.actor
    back = client.post("/ui/models/titanic/rollback?env=dev",
                       data={"reason": "regressed", "csrf_token": token})
    assert back.status_code == 303 and production(root) == 1


def test_a_promotion_needs_a_reason_a_token_and_an_operator(root: Path) -> None:
    client, token = signed_in(root, OPERATOR)
    no_reason = client.post("/ui/models/titanic/promote",
                            data={"version": "3", "reason": " ", "csrf_token": token})
    assert no_reason.status_code == 400 and "reason" in no_reason.text
    forged = client.post("/ui/models/titanic/promote", data={"version": "3", "reason": "x"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    viewer, viewer_token = signed_in(root, VIEWER)
    assert 'id="promote"' not in viewer.get("/ui/models/titanic").text
    refused = viewer.post("/ui/models/titanic/promote",
                          data={"version": "3", "reason": "x", "csrf_token": viewer_token})
    assert refused.status_code == 403 and "role is viewer" in refused.text
    assert production(root) == 1


def test_monitoring_and_recommendations_say_what_is_missing(root: Path) -> None:
    client, _ = signed_in(root, VIEWER)
    monitoring = client.get("/ui/monitoring").text
    assert "lake_age" in monitoring and "not checked" in monitoring
    model = client.get("/ui/monitoring/titanic").text
    assert "No drift report yet" in model and "monitor drift titanic" in model
    assert client.get("/ui/monitoring/nothing").status_code == 404
    search = client.get("/ui/recommendations", params={"q": "olsen"})
    assert search.status_code == 200 and "No customer" in search.text
    assert client.get("/ui/recommendations", params={"customer": "C1"}).status_code == 404


def test_unknown_models_versions_and_ids_are_the_error_page_not_a_bare_500(root: Path) -> None:
    client, token = signed_in(root, OPERATOR)
    answers = {
        "unknown model in recommendations": client.get(
            "/ui/recommendations", params={"model": "nosuchmodel", "customer": "C1"}),
        "a quote in a model name": client.get("/ui/models/it's"),
        "a quote in a promotion": client.post("/ui/models/it's/promote", data={
            "version": "1", "reason": "r", "csrf_token": token}),
        "a missing version compared": client.post("/ui/models/titanic/compare", data={
            "challenger": "99", "champion": "1", "csrf_token": token}),
        "a version beyond 2^63": client.post("/ui/models/titanic/compare", data={
            "challenger": str(2**64), "champion": "1", "csrf_token": token}),
        "a batch id beyond 2^63": client.get(f"/ui/lake/batches/{2**64}"),
    }
    for what, answer in answers.items():
        assert answer.status_code == 404, (what, answer.status_code, answer.text[:300])
        assert 'class="error"' in answer.text and "Traceback" not in answer.text, what
    assert "no registered model \"it's\"" in answers["a quote in a model name"].text.replace(
        "&#34;", '"').replace("&#39;", "'")
    assert "has no version 99" in answers["a missing version compared"].text
