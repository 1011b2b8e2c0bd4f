"""The reports the pages link to, served to a signed-in browser and nothing else of the state."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from shipyard.project import Project
from shipyard.serving.auth import ApiKeys
from shipyard.ui.app import standalone
from tests.signin import sign_in

KEY = "v" * 24


def test_reports_are_served_signed_in_sandboxed_and_nothing_else_of_the_state(
        tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text("project: tiny\nenvironments:\n  dev: {lake: lake}\n")
    state = Project.open(tmp_path, "dev").state
    page = "reports/monitoring/m/drift-1.html"
    state.put(page, b"<!doctype html><script>Plotly.newPlot()</script>")
    state.put("reports/7.json", b'{"batch_id": 7}')
    state.put("models/m/model.bin", b"not a report")
    client = TestClient(standalone(tmp_path, ApiKeys([f"{KEY}:viewer"]), default_env="dev"),
                        follow_redirects=False)
    assert client.get(f"/ui/reports/{page}").status_code == 303  # sign in first
    sign_in(client, KEY)
    served = client.get(f"/ui/reports/{page}")
    assert served.status_code == 200 and served.content.startswith(b"<!doctype html>")
    policy = served.headers["content-security-policy"]
    assert policy.startswith("sandbox allow-scripts;") and "frame-ancestors 'none'" in policy
    assert served.headers["x-content-type-options"] == "nosniff"
    assert client.get("/ui/reports/reports/7.json").json() == {"batch_id": 7}
    for elsewhere in ("models/m/model.bin", "reports/../models/m/model.bin",
                      "reports/%2e%2e/models/m/model.bin", "reports/missing.html", "reports"):
        assert client.get(f"/ui/reports/{elsewhere}").status_code == 404, elsewhere
