"""The UI on PostgreSQL stores: an address with a NUL byte is a 404 page, as on SQLite, not the
database's DataError as a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shipyard.serving.auth import ApiKeys
from shipyard.ui.app import standalone
from tests.signin import sign_in

KEY = "k" * 24


@pytest.mark.postgres
def test_a_nul_in_an_address_is_a_404_page_on_postgresql(tmp_path: Path, pg_url: str,
                                                         pg_missing_url: str) -> None:
    (tmp_path / "shipyard.yaml").write_text(
        f"project: tiny\nenvironments:\n  dev: {{lake: lake, metadata_db: '{pg_url}', "
        f"tracking_uri: '{pg_missing_url}'}}\npipelines: {{train: {{function: 'jobs:train'}}}}\n")
    client = TestClient(standalone(tmp_path, ApiKeys([KEY]), default_env="dev"),
                        follow_redirects=False)
    assert sign_in(client, KEY).status_code == 303
    for path in ("/ui/runs/a%00b", "/ui/models/a%00b", "/ui/runs?pipeline=a%00b",
                 "/ui/runs?status=a%00b", "/ui/monitoring/a%00b", "/ui/lake/tables/raw/a%00b"):
        answer = client.get(path)
        assert answer.status_code == 404, (path, answer.text[:300])
        assert "NUL" in answer.text, path
    assert client.get("/ui/runs/nosuchrun").status_code == 404  # the store itself answers
