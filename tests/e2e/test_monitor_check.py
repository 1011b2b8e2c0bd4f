"""``shipyard monitor check`` on the Titanic example: rules that fire are alerted once per
change of state to a real local webhook receiver, and drift can start the training pipeline.

The lake-age rule with a threshold of ``0s`` fires as soon as the lake holds a snapshot (its
age is above zero), which a user does to test that alerts reach their channel; raising the
threshold to a day is the recovery.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.e2e.cli import run
from tests.e2e.examples import ExampleProjects, add_webhook
from tests.e2e.server import AUTH, http, serving
from tests.receiver import Receiver

EVENTS = ("events: [rule_firing, rule_resolved, drift_detected, drift_recovered, model_rejected, "
          "model_staged]")


def _configure(root: Path, url: str, monitoring: str) -> None:
    add_webhook(root, url)
    config = root / "shipyard.yaml"
    text, found = re.subn(r"events: \[[^\]]*\]", EVENTS, config.read_text())
    assert found == 1, text
    config.write_text(text + "\nmonitoring:\n" + monitoring)


def _output(done) -> str:  # type: ignore[no-untyped-def]
    """Output with the table's column rules and runs of spaces made single spaces."""
    return " ".join(re.sub(r"[│┃]", " ", f"{done.stdout}\n{done.stderr}").split())


def test_a_firing_rule_is_alerted_once_and_its_recovery_once(
        tmp_path: Path, example_projects: ExampleProjects) -> None:
    root = example_projects.copy("titanic-ingested", tmp_path / "titanic")
    with Receiver() as receiver:
        _configure(root, receiver.url + "/hook", "  rules:\n    - {kind: lake_age, threshold: 0s}\n")

        text = _output(run("monitor", "check", cwd=root))
        assert re.search(r"lake_age \S+ 0s firing snapshot \d+ at", text), text
        assert "state changed: lake_age; alerts delivered: 1" in text and "1 of 1 rule(s) firing" in text
        (firing,) = receiver.wait_for(1)
        assert firing.json["event"] == "rule_firing"
        assert firing.json["title"].startswith("lake_age is firing")

        again = run("monitor", "check", "--fail-on-firing", cwd=root, check=6)
        assert "1 rule(s) firing: lake_age" in _output(again)
        assert "state changed" not in again.stdout
        assert len(receiver.requests) == 1  # still firing: nothing sent

        config = root / "shipyard.yaml"
        config.write_text(config.read_text().replace("threshold: 0s", "threshold: 1d"))
        text = _output(run("monitor", "check", "--fail-on-firing", cwd=root))
        assert "lake_age" in text and "no rule firing" in text and "state changed: lake_age" in text
        (_, resolved) = receiver.wait_for(2)
        assert resolved.json["event"] == "rule_resolved"
        run("monitor", "check", cwd=root)
        assert len(receiver.requests) == 2


def test_drift_starts_the_train_pipeline_and_a_gated_version_is_registered(
        tmp_path: Path, example_projects: ExampleProjects) -> None:
    root = example_projects.copy("titanic-trained", tmp_path / "titanic")
    features = ["pclass", "sex", "age", "sibsp", "parch"]
    with sqlite3.connect(root / "source.db") as db:
        rows = [dict(zip(features, r, strict=True)) for r in db.execute(
            f"SELECT {', '.join(features)} FROM passengers")]
    for row in rows:
        if row["age"] is not None:
            row["age"] += 30.0  # ages sent wrong by a front end
    with serving(root) as base:
        for start in range(0, len(rows), 100):
            answer = http.post(f"{base}/v1/models/titanic/predict", headers=AUTH,
                               json={"rows": rows[start:start + 100]})
            assert answer.status_code == 200, answer.text
    with Receiver() as receiver:
        _configure(root, receiver.url + "/hook",
                   "  drift_share: 0.2\n  on_drift: {run: train, no_cache: true}\n"
                   "  rules:\n    - {kind: drift, target: titanic, threshold: 0.2}\n")
        text = _output(run("monitor", "check", cwd=root))
        assert re.search(r"drift:titanic \d+% 0.2 firing v1, drifted: age", text), text
        assert re.search(r"on_drift: ran train: (succeeded|rejected) \(run train-", text), text
        kinds = [r.json["event"] for r in receiver.wait_for(2)]
        assert kinds[0] == "drift_detected" and kinds[1] in ("model_staged", "model_rejected")
        versions = _output(run("models", "ls", cwd=root))
        assert re.search(r"\b2\b.*\b(staging|rejected)\b", versions), versions

        # The episode goes on: the next check neither alerts nor retrains again.
        text = _output(run("monitor", "check", cwd=root))
        assert "on_drift" not in text and "state changed" not in text
        assert len(receiver.requests) == 2
