"""Monitoring that closes the loop, on the recommender example, as a team would live it.

A small shop (300 customers, 3 months) is trained, version 1 promoted, its top 10 published and
served, and customers ask for their recommendations. Then the ERP records a bulk-promotion
month (``erp.py next-month --drift``): ingest validation rejects it (quantities and discounts
moved) and it waits in quarantine; the team decides it is real business and accepts it. Now
the recommender's inputs (the products and categories bought) have moved: ``monitor drift``
says so and alerts the webhook once; ``monitor check`` finds its drift rule firing in the same
episode (no second alert) and, as ``monitoring.on_drift`` says, retrains: version 2 is gated
and compared with production. It is promoted and published, the server takes it up, and the
trace of a request served afterwards leads to version 2, its run and the accepted lake version.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from pathlib import Path

from tests.e2e.cli import python, run
from tests.e2e.examples import ExampleProjects, add_webhook, small
from tests.e2e.server import AUTH, http, serving, wait_for
from tests.receiver import Receiver

EVENTS = "events: [drift_detected, drift_recovered, rule_firing, model_staged, model_promoted]"
MONITORING = """
monitoring:
  on_drift: {run: train}
  rules:
    - {kind: drift, target: recommender, threshold: 0.5}
"""


def _output(done: subprocess.CompletedProcess[str]) -> str:
    """Output with the tables' rules and runs of spaces made single spaces."""
    return " ".join(re.sub(r"[│┃]", " ", f"{done.stdout}\n{done.stderr}").split())


def _configure(root: Path, hook: str) -> None:
    add_webhook(root, hook)
    config = root / "shipyard.yaml"
    text, found = re.subn(r"events: \[[^\]]*\]", EVENTS, config.read_text())
    assert found == 1, text
    config.write_text(text + MONITORING)


def _ask(base: str, customer: str) -> tuple[int, str]:
    """(version that answered, X-Request-ID) of one customer's recommendations."""
    answer = http.get(f"{base}/v1/recommendations/{customer}", headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()["version"], answer.headers["X-Request-ID"]


def _traced(root: Path, request_id: str) -> str:
    """``monitor trace`` of a request, once the server's log (flushed every second) has it."""
    found: list[str] = []

    def logged() -> bool:
        done = run("monitor", "trace", request_id, cwd=root, check=None)
        found[:] = [_output(done)] if done.returncode == 0 else []
        return bool(found)

    wait_for(logged, f"request {request_id} in the log")
    return found[0]


def _events(receiver: Receiver, kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [r.json for r in receiver.requests if r.json and r.json.get("event") == kind]


def test_a_drifted_month_accepted_from_quarantine_is_retrained_on_and_traced(
        tmp_path: Path, example_projects: ExampleProjects) -> None:
    root = example_projects.copy("recommender-small-ingested", tmp_path / "shop")
    small(root, trials=2)
    with sqlite3.connect(root / "erp.db") as erp:
        customers = [r[0] for r in erp.execute(
            "SELECT DISTINCT customer_id FROM orders ORDER BY customer_id LIMIT 20")]
    erp.close()
    with Receiver() as receiver:
        _configure(root, receiver.url + "/hook")
        run("run", "train", cwd=root)
        run("models", "promote", "recommender", "1", "--reason", "first", cwd=root)
        run("recommend", "--top", "10", cwd=root)

        with serving(root) as base:
            served = [_ask(base, c) for c in customers]
            assert {version for version, _ in served} == {1}
            before = served[0][1]

            # A bulk-promotion month: validation rejects it, the team accepts it as real.
            python("erp.py", "next-month", "--drift", cwd=root)
            rejected = _output(run("ingest", cwd=root, check=3))
            assert re.search(r"order_lines rejected [\d,]+ \d+", rejected), rejected
            accepted = _output(run("quarantine", "accept", "latest", "--reason",
                                   "bulk promotion month: real orders", cwd=root))
            landed = re.search(r"order_lines \(batch \d+, [\d,]+ rows, accepted\) → raw version "
                               r"\d+, clean version (\d+)", accepted)
            assert landed, accepted
            lake_version = int(landed[1])

            # The recommender's inputs moved: found, reported, alerted once.
            found = _output(run("monitor", "drift", "recommender", cwd=root))
            assert "drift detected in model recommender version 1: category, product" in found
            reported = re.search(r"report: (\S+\.html) (\S+\.json)", found)
            assert reported, found
            page = Path(reported[1])
            assert page.exists() and Path(reported[2]).exists()
            wait_for(lambda: bool(_events(receiver, "drift_detected")), "drift_detected alert")
            (detected,) = _events(receiver, "drift_detected")
            assert str(page) in json.dumps(detected), detected

            # The drift rule fires in the same episode: no second alert, and on_drift retrains.
            checked = _output(run("monitor", "check", cwd=root))
            assert re.search(r"drift:recommender 50% 0.5 firing v1, drifted: category, product",
                             checked), checked
            assert "state changed" not in checked
            assert "INFO mlflow" not in checked  # MLflow's own lines stay out of the output
            retrained = re.search(r"on_drift: ran train: succeeded \(run (train-\S+)\)", checked)
            assert retrained, checked
            run_id = retrained[1]
            assert ("Model recommender version 2 registered; gate passed (map_at_10 "
                    in checked), checked
            assert "recommender: v2 (challenger) vs v1 (champion)" in checked, checked
            assert "comparison report:" in checked and "compare-v2-vs-v1.json" in checked
            compared = json.loads((root / ".shipyard" / "dev" / "reports" / "models"
                                   / "recommender" / "compare-v2-vs-v1.json").read_text())
            assert compared["challenger"] == 2 and compared["champion"] == 1
            assert compared["primary_metric"] == "map_at_10"
            wait_for(lambda: any("version 2 staged" in e["title"]
                                 for e in _events(receiver, "model_staged")), "v2 staged alert")
            assert len(_events(receiver, "drift_detected")) == 1
            shown = _output(run("models", "show", "recommender", cwd=root))
            assert re.search(rf"\b2 staging passed .* {run_id}", shown), shown

            # Promoted, which publishes its set: the server takes version 2 up without a
            # restart, and its answers come from version 2 with no 'shipyard recommend'.
            promoted = _output(run("models", "promote", "recommender", "2", "--reason",
                                   "retrained on drift", cwd=root))
            assert re.search(r"published set \S+ \([\d,]+ customers × top 10 from v2\)",
                             promoted), promoted
            wait_for(lambda: http.get(f"{base}/ready", headers=AUTH).json()["models"]
                     == {"recommender": 2}, "the server serving version 2")
            # the server takes the published set up at its next check of the set's pointer
            asked: list[tuple[int, str]] = []
            wait_for(lambda: asked.append(_ask(base, customers[0])) or asked[-1][0] == 2,
                     "answers from version 2's set")
            after = asked[-1][1]

            traced = _traced(root, after)
            assert f"request {after} · recommendations" in traced
            assert "model recommender version 2" in traced
            assert f"pipeline run: {run_id} (pipeline train)" in traced
            assert f"clean.order_lines v{lake_version}" in traced, traced
            earlier = _traced(root, before)
            assert "model recommender version 1" in earlier
            assert f"clean.order_lines v{lake_version - 1}" in earlier, earlier
        assert len(_events(receiver, "drift_detected")) == 1
