"""The server's logs as written: typed columns per model, a recommendations table, request ids
made or kept and returned on every answer, and a full queue dropping, not blocking."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable
from fastapi import FastAPI, HTTPException, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shipyard.monitoring.logged import LoggedPredictions
from shipyard.monitoring.logschema import new_request_id, request_day, ulid, well_formed
from shipyard.monitoring.window import Window
from shipyard.serving.predlog import LoggedRefusals, PredictionLog
from shipyard.serving.request_ids import RequestIds, request_id

WHEN = datetime(2026, 11, 28, 12, tzinfo=UTC)
SIGNATURE = [("age", "double", True), ("sex", "string", True), ("pclass", "long", True),
             ("time", "string", False)]  # a signature column named like a log column


def _flushed(log: PredictionLog) -> None:
    while not log.queue.empty():
        log.flush()


def test_each_model_gets_a_table_of_typed_columns(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), None)
    log.record("titanic", 3, SIGNATURE,
               [{"age": 22.0, "sex": "male", "pclass": 3, "time": "evening"},
                {"age": None, "sex": "female", "pclass": 1, "time": None}],
               [0.2, 0.9], 4.5, request_id="req-1", when=WHEN)
    log.record("other", 1, [("x", "long", True)], [{"x": 7}], [0.7], 1.0, request_id="req-2",
               when=WHEN)
    _flushed(log)
    table = DeltaTable(str(tmp_path / "monitoring/predictions/titanic")).to_pyarrow_table()
    schema = {f.name: f.type for f in table.schema}
    assert schema == {
        "time": pa.timestamp("us", tz="UTC"), "day": pa.string(), "request_id": pa.string(),
        "version": pa.int64(), "row": pa.int32(), "probability": pa.float64(),
        "prediction": pa.int64(), "latency_ms": pa.float64(), "status": pa.int32(),
        "age": pa.float64(),
        "sex": pa.string(), "pclass": pa.int64(), "input_time": pa.string()}
    rows = sorted(table.to_pylist(), key=lambda r: r["row"])
    assert [(r["age"], r["sex"], r["pclass"], r["input_time"]) for r in rows] == [
        (22.0, "male", 3, "evening"), (None, "female", 1, None)]
    assert [(r["probability"], r["prediction"], r["row"]) for r in rows] == [
        (0.2, 0, 0), (0.9, 1, 1)]
    assert {(r["request_id"], r["version"], r["day"], r["time"], r["status"]) for r in rows} == {
        ("req-1", 3, "2026-11-28", WHEN, 200)}
    other = DeltaTable(str(tmp_path / "monitoring/predictions/other")).to_pyarrow_table()
    assert other.column_names[-1] == "x" and other["x"].to_pylist() == [7]


def test_a_version_with_a_new_input_adds_a_column(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), None)
    log.record("m", 1, [("a", "double", True)], [{"a": 1.0}], [0.1], 1.0, request_id="r1",
               when=WHEN)
    _flushed(log)
    log.record("m", 2, [("a", "double", True), ("b", "string", True)], [{"a": 2.0, "b": "x"}],
               [0.8], 1.0, request_id="r2", when=WHEN)
    _flushed(log)
    table = DeltaTable(str(tmp_path / "monitoring/predictions/m")).to_pyarrow_table()
    assert sorted(zip(table["a"].to_pylist(), table["b"].to_pylist(), strict=True)) == [
        (1.0, None), (2.0, "x")]


def test_recommendations_are_logged_one_row_per_request(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), None)
    log.record_recommendation("recommender", 4, "C7", [("P1", 0.9), ("P2", 0.5)],
                              source="popularity", k=2, latency_ms=3.0, request_id="r",
                              when=WHEN)
    _flushed(log)
    (row,) = DeltaTable(str(tmp_path / "monitoring/recommendations")).to_pyarrow_table(
    ).to_pylist()
    assert row == {"time": WHEN, "day": "2026-11-28", "request_id": "r", "model": "recommender",
                   "version": 4, "customer_id": "C7", "items": ["P1", "P2"],
                   "scores": [0.9, 0.5], "source": "popularity", "fallback": True, "k": 2,
                   "latency_ms": 3.0}


def test_a_full_queue_drops_and_counts_instead_of_waiting(tmp_path: Path) -> None:
    dropped: list[int] = []
    log = PredictionLog(str(tmp_path), None, capacity=1, on_drop=lambda: dropped.append(1))
    for i in range(3):
        log.record("m", 1, [("a", "double", True)], [{"a": 1.0}], [0.1], 1.0,
                   request_id=f"r{i}")
    assert len(dropped) == 2 and log.queue.qsize() == 1


def test_request_ids_sort_by_time_and_name_their_day() -> None:
    earlier = new_request_id(WHEN.timestamp())
    later = new_request_id((WHEN + timedelta(milliseconds=1)).timestamp())
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", earlier) and earlier < later
    assert request_day(earlier) == WHEN.date()
    assert request_day("3f2a9c0e8d7b4a6f9e1d2c3b4a5f6e7d") is None  # a uuid4 hex: no day
    assert well_formed("gw-123.a:b") and not well_formed("") and not well_formed("a b")
    assert not well_formed("x" * 129)


def test_a_request_id_is_the_ulid_of_its_time_and_randomness() -> None:
    """The ULID spec's example time, and every digit as the 5 bits it stands for."""
    assert ulid(1469918176385, bytes(10)) == "01ARYZ6S41" + "0" * 16
    assert ulid(0, bytes(10)) == "0" * 26 and ulid(2**48 - 1, b"\xff" * 10) == "7" + "Z" * 25
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    for seed in range(200):
        millis, randomness = seed * 7_919_777_123, bytes((seed * 37 + i * 101) % 256 for i in range(10))
        value = (millis << 80) | int.from_bytes(randomness, "big")
        assert ulid(millis, randomness) == "".join(alphabet[(value >> (125 - 5 * i)) & 31]
                                                   for i in range(26))


def _app() -> TestClient:
    app = FastAPI()

    @app.get("/ok")
    def ok(http: Request) -> dict[str, str]:
        return {"id": request_id(http.scope)}

    @app.get("/fail")
    def fail() -> None:
        raise HTTPException(404, "nothing here")

    app.add_middleware(RequestIds)
    return TestClient(app)


def test_a_well_formed_incoming_id_is_kept_and_any_other_is_replaced() -> None:
    client = _app()
    kept = client.get("/ok", headers={"X-Request-ID": "gateway-42"})
    assert kept.headers["X-Request-ID"] == "gateway-42" == kept.json()["id"]
    made = client.get("/ok", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["X-Request-ID"] == made.json()["id"]
    assert made.headers["X-Request-ID"] != "bad id with spaces"
    assert request_day(made.headers["X-Request-ID"]) is not None  # a ULID, made here
    failed = client.get("/fail")
    assert failed.status_code == 404 and request_day(failed.headers["X-Request-ID"]) is not None


class _Rows(BaseModel):
    rows: list[dict[str, float]]


def _served_app(log: PredictionLog) -> TestClient:
    """A predict route like the server's, behind the server's middleware order: request ids
    outermost, then the refusal log, then whatever refuses (here: the route, a 401 check)."""
    app = FastAPI()

    @app.post("/v1/models/{name}/predict")
    def predict(name: str, body: _Rows, http: Request) -> dict[str, str]:
        if http.headers.get("authorization") != "Bearer k":
            raise HTTPException(401, "no key")
        if body.rows[0].get("age", 0) < 0:
            raise HTTPException(503, "model stopped")
        if body.rows[0].get("age", 0) > 200:
            raise RuntimeError("a bug")
        log.record(name, 3, [("age", "double", True)], body.rows, [0.5] * len(body.rows), 1.0,
                   request_id=request_id(http.scope))
        return {"ok": name}

    app.add_middleware(LoggedRefusals, log=log,
                       served=lambda name: (name == "titanic", 3 if name == "titanic" else None))
    app.add_middleware(RequestIds)
    return TestClient(app, raise_server_exceptions=False)


def test_refused_and_failed_predictions_are_logged_with_their_status(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), None)
    client = _served_app(log)
    sent = [("titanic", True, {"rows": [{"age": 1.0}] * 3}),
            ("titanic", True, {"rows": "none"}),  # invalid: 422
            ("titanic", True, {"rows": [{"age": -1.0}]}),  # 503
            ("titanic", True, {"rows": [{"age": 300.0}]}),  # a bug: 500
            ("titanic", False, {"rows": [{"age": 1.0}]}),  # no key: 401
            ("other", True, {"rows": 1})]  # not served
    ids = [f"req-{i}" for i in range(len(sent))]  # the client's (a 500 is answered without one)
    answers = [client.post(f"/v1/models/{model}/predict", json=body, headers={
        "X-Request-ID": rid, **({"Authorization": "Bearer k"} if keyed else {})})
        for rid, (model, keyed, body) in zip(ids, sent, strict=True)]
    assert [a.status_code for a in answers] == [200, 422, 503, 500, 401, 422]
    _flushed(log)
    table = DeltaTable(str(tmp_path / "monitoring/predictions/titanic")).to_pyarrow_table()
    logged = {(r["request_id"], r["status"], r["version"], r["row"], r["age"])
              for r in table.to_pylist()}
    assert logged == {(ids[0], 200, 3, 0, 1.0), (ids[0], 200, 3, 1, 1.0), (ids[0], 200, 3, 2, 1.0),
                      (ids[1], 422, 3, 0, None), (ids[2], 503, 3, 0, None),
                      (ids[3], 500, 3, 0, None)}
    assert not (tmp_path / "monitoring/predictions/other").exists()
    # what skew and drift read: the predicted rows only
    reader = LoggedPredictions(str(tmp_path), None, "titanic")
    everything = Window(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))
    assert reader.rows(everything) == 3 and reader.newest_version(everything) == 3


def test_a_regressors_values_are_its_prediction_column_even_after_a_refusal(
        tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), None)
    log.record_refusal("rents", 2, 422, 1.0, request_id="bad", when=WHEN)  # creates the table
    _flushed(log)
    log.record("rents", 2, [("area", "double", True)], [{"area": 40.0}, {"area": 95.5}],
               [1234.5, 2890.25], 3.0, request_id="ok", when=WHEN, regression=True)
    _flushed(log)
    table = DeltaTable(str(tmp_path / "monitoring/predictions/rents")).to_pyarrow_table()
    assert table.schema.field("prediction").type == pa.float64()
    answered = sorted((r["row"], r["prediction"], r["probability"]) for r in table.to_pylist()
                      if r["status"] == 200)
    assert answered == [(0, 1234.5, None), (1, 2890.25, None)]  # not cut to integers
