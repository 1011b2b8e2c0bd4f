"""The error tree, used: a library error reaches the server's client as its status, and the
CLI's caller as its class, whatever the shell (the exit codes are in tests/e2e)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shipyard import errors
from shipyard.errors import (
    ConfigError,
    DataRejected,
    LockedError,
    NotFoundError,
    NotPermitted,
    NotReady,
    ShipyardError,
    StillLoading,
    StoreUnreachable,
    TooManyWrongKeys,
    Unauthorized,
)
from shipyard.lake.ingest import ingest
from shipyard.lake.tables import DeltaStore
from shipyard.project import Project
from shipyard.serving import ApiKeys, create_app
from shipyard.serving.handlers import HANDLERS
from tests.e2e.conftest import PROJECT_YAML, add_events

KEY = "k" * 20


@pytest.mark.parametrize(("error", "status", "headers"), [
    (ShipyardError("a bug we named"), 500, {}),
    (ConfigError("bad setting"), 400, {}),
    (NotFoundError("no such table"), 404, {}),
    (LockedError("held by pid 7"), 409, {}),
    (DataRejected("rejected", result=None), 422, {}),
    (Unauthorized("no key"), 401, {"www-authenticate": "Bearer"}),
    (StoreUnreachable("results database down"), 503, {}),
    (NotReady("batcher stopped"), 503, {}),
    (StillLoading("still loading"), 503, {"retry-after": "1"}),
    (NotPermitted("a viewer's key"), 403, {}),
    (TooManyWrongKeys("wrong keys", retry_after_s=7), 429, {"retry-after": "7"}),
])
def test_a_library_error_in_a_route_answers_its_status(error: ShipyardError, status: int,
                                                       headers: dict[str, str]) -> None:
    app = FastAPI(exception_handlers=HANDLERS)

    @app.get("/fails")
    def fails() -> None:
        raise error

    answer = TestClient(app, raise_server_exceptions=False).get("/fails")
    assert answer.status_code == status == error.http_status
    assert answer.json() == {"detail": str(error)}
    for name, value in headers.items():
        assert answer.headers[name] == value
    if not headers:
        assert "retry-after" not in answer.headers and "www-authenticate" not in answer.headers


def test_a_secret_in_an_error_message_is_masked_in_the_answer() -> None:
    app = FastAPI(exception_handlers=HANDLERS)

    @app.get("/fails")
    def fails() -> None:
        raise StoreUnreachable("cannot reach postgresql://shipyard:hunter2secret@db:5432/results")

    answer = TestClient(app).get("/fails")
    assert answer.status_code == 503
    assert "hunter2secret" not in answer.text and "db:5432" in answer.text


@pytest.fixture
def events(tmp_path: Path) -> Project:
    (tmp_path / "shipyard.yaml").write_text(PROJECT_YAML)
    add_events(tmp_path, 0, 20_000, seed=1)
    return Project.open(tmp_path)


def test_a_rejected_batch_is_data_rejected_carrying_the_ingest_result(events: Project) -> None:
    ingest(events)
    lake = DeltaStore.of(events)
    before = lake.version("raw", "events")
    add_events(events.root, 20_000, 5_000, seed=2)
    with sqlite3.connect(events.root / "src.db") as con:
        con.execute("UPDATE events SET kind = NULL WHERE id >= 20000")
    with pytest.raises(DataRejected, match=r"events \(batch 2\).*quarantine show") as caught:
        ingest(events)
    assert caught.value.exit_code == 3
    [rejected] = caught.value.result.rejected
    assert (rejected.table, rejected.batch.id, rejected.status) == ("events", 2, "rejected")
    assert rejected.report is not None and not rejected.report.passed
    assert lake.version("raw", "events") == before


def test_the_server_answers_library_errors_through_the_one_handler(events: Project) -> None:
    with TestClient(create_app(events, ApiKeys([KEY]))) as client:
        unkeyed = client.get("/v1/recommendations/C1")
        assert unkeyed.status_code == 401 and unkeyed.headers["www-authenticate"] == "Bearer"
        auth = {"Authorization": f"Bearer {KEY}"}
        missing = client.get("/v1/recommendations/C1", headers=auth)
        assert missing.status_code == 404
        assert missing.json() == {"detail": "no recommendations for customer 'C1'"}
        unknown = client.post("/v1/models/titanic/predict", headers=auth, json={"rows": []})
        assert unknown.status_code == 404
        assert unknown.json() == {"detail": "model 'titanic' is not served here; served: none"}


def test_the_tree_names_every_error_class_in_its_docstring_and_all() -> None:
    classes = {name for name, value in vars(errors).items()
               if isinstance(value, type) and issubclass(value, errors.ShipyardError)}
    drawn = {"ShipyardError", *re.findall(r"[├└]── (\w+)", errors.__doc__ or "")}
    assert classes == drawn == set(errors.__all__)
