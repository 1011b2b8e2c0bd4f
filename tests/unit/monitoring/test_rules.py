"""Monitoring rules: parsing with errors that name the key, measuring each kind over real
stores (the metadata database, a prediction log written by the server's writer), and alerts
sent to a local HTTP receiver once per change of state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from shipyard.config.durations import parse_duration
from shipyard.config.schema import RULE_KINDS, MonitoringSettings, RuleConfig
from shipyard.errors import ConfigError
from shipyard.lake.batches import BatchRegister
from shipyard.monitoring import check_rules
from shipyard.monitoring.rules import MEASURES, evaluate
from shipyard.monitoring.states import MonitorStates
from shipyard.project import Project
from shipyard.serving.predlog import PredictionLog as LogWriter
from tests.receiver import Receiver

YAML = """\
project: p
environments: {{dev: {{lake: lake}}}}
tables: {{events: {{source: db, query: "SELECT * FROM events"}}}}
sources: {{db: {{url: "sqlite:///src.db"}}}}
pipelines: {{train: {{function: "jobs:train"}}}}
models: {{titanic: {{pipeline: train, primary_metric: accuracy}}}}
alerts: {{webhooks: [{{name: hook, kind: json, url: "{url}", retries: 0}}]}}
monitoring:
  rules:
{rules}
"""


def project(root: Path, rules: str, url: str = "http://127.0.0.1:9/hook") -> Project:
    (root / "shipyard.yaml").write_text(YAML.format(url=url, rules=rules))
    return Project.open(root)


def test_an_unknown_kind_is_named_with_the_known_kinds() -> None:
    with pytest.raises(ValidationError) as error:
        MonitoringSettings(rules=[{"kind": "lake_agee", "threshold": "1d"}])
    assert ("unknown rule kind 'lake_agee' (did you mean 'lake_age'?); known kinds: "
            + ", ".join(RULE_KINDS)) in str(error.value)


@pytest.mark.parametrize(("rule", "message"), [
    ({"kind": "run_age", "threshold": "1d"}, "a run_age rule needs a target"),
    ({"kind": "lake_age", "threshold": 3}, "threshold of a lake_age rule is a duration"),
    ({"kind": "failed_runs", "threshold": "2d"}, "threshold of the failed_runs rule is a number"),
    ({"kind": "lake_age", "threshold": "1d", "treshold": 2}, "treshold"),
    ({"kind": "rejection_rate", "target": "m", "threshold": "5%"},
     "threshold of the rejection_rate rule is a number, not '5%'; write a share: 0.05 for 5%"),
    ({"kind": "drift", "target": "m", "threshold": 20}, "a share between 0 and 1"),
    ({"kind": "drift", "target": "m", "threshold": 0.2, "window": "a week"},
     "write a positive number and a unit: 30m, 12h, 7d or 2w"),
    ({"kind": "drift", "target": "m", "threshold": 0.2, "window": "0d"},
     "'0d' is not a length of time; write a positive number"),
])
def test_a_bad_rule_is_refused_with_why(rule: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MonitoringSettings(rules=[rule])


def test_a_target_that_is_not_declared_is_named_with_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"monitoring.rules\[1\].target: unknown pipeline "
                                          r"'trian'; declared pipelines: train"):
        project(tmp_path, "    - {kind: lake_age, threshold: 1d}\n"
                          "    - {kind: run_age, target: trian, threshold: 1d}")


def test_rule_names_and_age_thresholds() -> None:
    assert RuleConfig(kind="run_age", target="train", threshold="2d").key == "run_age:train"
    assert RuleConfig(kind="lake_age", threshold="0s", name="fresh").key == "fresh"
    assert parse_duration("1.5h") == timedelta(minutes=90)
    assert parse_duration("0s", zero=True) == timedelta(0)


def test_unmeasurable_rules_are_unknown_with_why(tmp_path: Path) -> None:
    p = project(tmp_path, "    - {kind: lake_age, threshold: 1d}\n"
                          "    - {kind: run_age, target: train, threshold: 1d}\n"
                          "    - {kind: p99_latency_ms, target: titanic, threshold: 100}")
    results = {r.kind: r for r in (evaluate(p, rule) for rule in p.config.monitoring.rules)}
    assert {kind: r.state for kind, r in results.items()} == {
        "lake_age": "unknown", "run_age": "unknown", "p99_latency_ms": "unknown"}
    assert "the lake has no snapshot yet" in results["lake_age"].why
    assert results["run_age"].why == "no successful run of train yet"
    assert "no prediction log" in results["p99_latency_ms"].why


def test_p99_latency_is_read_from_the_prediction_log(tmp_path: Path) -> None:
    p = project(tmp_path, "    - {kind: p99_latency_ms, target: titanic, threshold: 50, window: 1h}\n"
                          "    - {kind: p99_latency_ms, target: titanic, threshold: 500, "
                          "window: 1h, name: relaxed}")
    writer = LogWriter(p.lake_root, None)
    now = datetime.now(UTC)
    for i, latency in enumerate([10.0] * 98 + [200.0] * 2):  # the slowest 2% take 200 ms
        writer.record("titanic", 1, [("age", "double", True)], [{"age": 1.0}], [0.5], latency,
                      request_id=f"r{i}", when=now - timedelta(minutes=5))
    while not writer.queue.empty():
        writer.flush()
    strict, relaxed = (evaluate(p, rule, now) for rule in p.config.monitoring.rules)
    assert strict.value == 200.0
    assert (strict.state, relaxed.state) == ("firing", "ok")
    assert strict.why == "100 answered requests"


def test_a_rule_alerts_once_when_it_starts_firing_and_once_when_it_recovers(
        tmp_path: Path) -> None:
    with Receiver() as receiver:
        p = project(tmp_path, "    - {kind: quarantine_waiting, threshold: 0}",
                    url=receiver.url + "/hook")
        assert [r.state for r in check_rules(p).results] == ["ok"]  # ok at first: nothing said
        batches = BatchRegister.of(p)
        batch = batches.create("events", source_query="SELECT 1", watermark_from=None)
        batches.update(batch.id, status="rejected")

        first = check_rules(p)
        assert [(r.state, r.value) for r in first.results] == [("firing", 1)]
        assert (first.changed, first.delivered) == (["quarantine_waiting"], 1)
        (sent,) = receiver.wait_for(1)
        assert sent.json["event"] == "rule_firing"
        assert sent.json["facts"]["value"] == "1"
        assert f"batch {batch.id} (events)" in sent.json["summary"]

        assert check_rules(p).changed == []  # still firing: nothing more
        batches.update(batch.id, status="landed")
        assert check_rules(p).changed == ["quarantine_waiting"]
        requests = receiver.wait_for(2)
        assert [r.json["event"] for r in requests] == ["rule_firing", "rule_resolved"]
        assert check_rules(p).changed == []
        assert len(receiver.requests) == 2


def test_unknown_neither_alerts_nor_ends_an_episode(tmp_path: Path) -> None:
    p = project(tmp_path, "    - {kind: lake_age, threshold: 1d}")
    states = MonitorStates.of(p)
    seen = [states.record("r", "rule", state).alert
            for state in ("ok", "firing", "unknown", "firing", "ok", "unknown", "ok")]
    assert seen == [False, True, False, False, True, False, False]
    (row,) = states.latest()
    assert (row.key, row.state) == ("r", "ok")




def test_monitor_drift_alerts_once_per_episode_with_the_report(tmp_path: Path) -> None:
    from shipyard.monitoring import measure, record_drift
    from shipyard.monitoring.logged import LoggedPredictions
    from shipyard.monitoring.window import Window
    from shipyard.train.profile import build_profile
    from tests.unit.monitoring.test_drift import DAY, NOW, _log, _rows

    with Receiver() as receiver:
        p = project(tmp_path, "    - {kind: drift, target: titanic, threshold: 0.5}",
                    url=receiver.url + "/hook")
        _log(Path(p.lake_root), NOW - 0.5 * DAY, _rows(2000, 2, age_shift=10))
        _log(Path(p.lake_root), NOW + 1.5 * DAY, _rows(2000, 0))  # calm, then calm again
        _log(Path(p.lake_root), NOW + 2.5 * DAY, _rows(2000, 3))
        profile = build_profile(_rows(2000, 0), np.full(100, 0.5))
        reader = LoggedPredictions(p.lake_root, None, "titanic")
        drifted = measure(reader, profile, 1, Window.of(DAY, now=NOW), p.config.monitoring)
        calm = measure(reader, profile, 1, Window.of(DAY, now=NOW + 3 * DAY), p.config.monitoring)
        assert drifted.drifted and not calm.drifted

        assert [record_drift(p, report, f"/reports/{n}.html")
                for n, report in enumerate([drifted, drifted, calm, calm])] == [
            True, False, True, False]
        started, ended = receiver.wait_for(2)
        assert (started.json["event"], ended.json["event"]) == ("drift_detected", "drift_recovered")
        assert started.json["facts"]["report"] == "/reports/0.html"
        assert "age" in started.json["summary"]
        (state,) = MonitorStates.of(p).latest()
        assert (state.key, state.state) == ("drift:titanic", "ok")  # a drift rule's own key


def test_on_drift_retrains_once_per_episode_even_when_monitor_drift_opened_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``monitor drift`` run by hand alerts the episode first (and never retrains); the drift
    rule's next check must still retrain, once, and not again while the drift lasts."""
    from shipyard.monitoring import rules
    from shipyard.tracking.records import RunStore

    p = project(tmp_path, "    - {kind: drift, target: titanic, threshold: 0.5}\n"
                          "  on_drift: {run: train}")
    monkeypatch.setitem(rules.MEASURES, "drift", lambda project, rule, now: rules.Measured(
        0.5, "50%", "v1, drifted: age", firing=True))
    started: list[str] = []

    def retrain(project: Project, pipeline: str, *, no_cache: bool = False) -> rules.Retrain:
        run_id = f"{pipeline}-{len(started)}"
        RunStore(project.metadata_engine).start(
            id=run_id, pipeline=pipeline, started_at=datetime.now(UTC), params={},
            executor="local", env="dev", data_versions={}, smoke=False, no_cache=no_cache)
        started.append(run_id)
        return rules.Retrain(pipeline, "succeeded", run_id, None)

    monkeypatch.setattr(rules, "retrain", retrain)
    opened = MonitorStates.of(p).record("drift:titanic", "drift", "firing", subject="titanic")
    assert opened.alert  # what record_drift does when monitor drift finds the drift first

    first = check_rules(p)
    assert first.changed == [] and [r.run_id for r in first.retrains] == ["train-0"]
    assert check_rules(p).retrains == []  # the episode goes on: retrained already


@pytest.mark.parametrize("statuses", [[200] * 18 + [503, 422], ["ok"] * 18 + ["error", "refused"]])
def test_error_rate_counts_failed_and_refused_requests(tmp_path: Path,
                                                       statuses: list[object]) -> None:
    """A status column written by another tool, as HTTP codes or as words, one row per
    request (no ``row`` column); the server's own log: the last test."""
    import pyarrow as pa
    from deltalake import write_deltalake

    from shipyard.monitoring.logschema import predictions_path

    p = project(tmp_path, "    - {kind: error_rate, target: titanic, threshold: 0.05, window: 1h}\n"
                          "    - {kind: rejection_rate, target: titanic, threshold: 0.01, window: 1h}")
    now = datetime.now(UTC)
    write_deltalake(predictions_path(p.lake_root, "titanic"), pa.table({
        "time": pa.array([now - timedelta(minutes=1)] * 20, pa.timestamp("us", tz="UTC")),
        "day": [now.date().isoformat()] * 20, "latency_ms": [5.0] * 20, "status": statuses}),
        partition_by=["day"])
    errors, rejections = (evaluate(p, rule, now) for rule in p.config.monitoring.rules)
    assert (errors.value, errors.state, errors.shown) == (0.05, "ok", "5.00%")
    assert (rejections.value, rejections.state) == (0.05, "firing")


def test_error_rate_is_unknown_on_a_log_from_before_statuses(tmp_path: Path) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    from shipyard.monitoring.logschema import predictions_path

    p = project(tmp_path, "    - {kind: error_rate, target: titanic, threshold: 0.05, window: 1h}")
    now = datetime.now(UTC)
    write_deltalake(predictions_path(p.lake_root, "titanic"), pa.table({
        "time": pa.array([now - timedelta(minutes=1)], pa.timestamp("us", tz="UTC")),
        "day": [now.date().isoformat()], "row": pa.array([0], pa.int32()),
        "latency_ms": [5.0]}), partition_by=["day"])
    (result,) = (evaluate(p, rule, now) for rule in p.config.monitoring.rules)
    assert (result.value, result.state) == (None, "unknown")
    assert result.why.startswith("the prediction log has no status column: it was written by "
                                 "a server from before refusals and failures were logged")


def test_error_and_rejection_rates_come_from_the_servers_log(tmp_path: Path) -> None:
    """Requests as the server logs them: answered ones a row per predicted row (one of 50
    rows is one request), refused and failed ones a row with their status."""
    p = project(tmp_path, "    - {kind: error_rate, target: titanic, threshold: 0.05, window: 1h}\n"
                          "    - {kind: rejection_rate, target: titanic, threshold: 0.05, window: 1h}\n"
                          "    - {kind: p99_latency_ms, target: titanic, threshold: 100, window: 1h}")
    writer = LogWriter(p.lake_root, None)
    now = datetime.now(UTC)
    when = now - timedelta(minutes=5)
    for i in range(17):
        rows = [{"age": 1.0}] * (50 if i == 0 else 1)
        writer.record("titanic", 1, [("age", "double", True)], rows, [0.5] * len(rows), 20.0,
                      request_id=f"ok{i}", when=when)
    for i, status in enumerate([422, 413, 503]):
        writer.record_refusal("titanic", 1, status, 500.0, request_id=f"no{i}", when=when)
    while not writer.queue.empty():
        writer.flush()
    errors, rejections, latency = (evaluate(p, rule, now) for rule in p.config.monitoring.rules)
    assert (errors.value, errors.state, errors.why) == (0.05, "ok", "1 of 20 requests failed")
    assert (rejections.value, rejections.state, rejections.shown) == (0.1, "firing", "10.00%")
    assert rejections.why == "2 of 20 requests rejected"
    assert (latency.value, latency.state) == (20.0, "ok")  # refusals' latency left out


@pytest.mark.parametrize("setting", ["window", "outcome_horizon", "compact_every", "check_every"])
def test_a_length_of_time_of_zero_is_refused_when_the_project_opens(setting: str) -> None:
    with pytest.raises(ValidationError, match=rf"{setting}[\s\S]*'0h' is not a length of time"):
        MonitoringSettings(**{setting: "0h"})
    assert MonitoringSettings(**{setting: "1.5h"}) is not None


def test_every_rule_kind_the_project_file_accepts_has_a_measure() -> None:
    assert set(RULE_KINDS) == set(MEASURES)
