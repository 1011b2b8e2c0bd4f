"""The first mistakes a user makes with ``shipyard monitor``, on the Titanic example: a
malformed rule, a model that was never served, a model that is not a recommender, a misspelt
model. Each is a message naming the thing and the fix, with the documented exit code and no
traceback. (An unknown model and an empty window of ``monitor drift``:
``test_monitor_drift.py``.)
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.e2e.examples import ExampleProjects


def _output(done: subprocess.CompletedProcess[str]) -> str:
    """Output with the table's column rules and runs of spaces made single spaces."""
    return " ".join(re.sub(r"[│┃]", " ", f"{done.stdout}\n{done.stderr}").split())


def _rules(root: Path, *rules: str) -> None:
    with (root / "shipyard.yaml").open("a") as config:
        config.write("\nmonitoring:\n  rules:\n" + "".join(f"    - {r}\n" for r in rules))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, example_projects: ExampleProjects) -> Path:
    """Titanic version 1 in production, never served."""
    return example_projects.copy("titanic-trained", tmp_path_factory.mktemp("errors") / "titanic")


@pytest.mark.parametrize(("rule", "message"), [
    ("{kind: error_rat, target: titanic, threshold: 0.05}",
     ("monitoring.rules.0: unknown rule kind 'error_rat' (did you mean 'error_rate'?); known "
      "kinds: p99_latency_ms, error_rate, rejection_rate")),
    ("{kind: error_rate, target: titanic, threshold: 5}",
     "threshold of the error_rate rule is a share between 0 and 1 (0.05 for 5%), not 5"),
    ("{kind: drift, threshold: 0.2}", "a drift rule needs a target: add 'target: ...'"),
    ("{kind: p99_latency_ms, target: titanc, threshold: 200}",
     "monitoring.rules[0].target: unknown model 'titanc'; declared models: titanic"),
    ("{kind: error_rate, target: titanic, threshold: 5%}",
     "threshold of the error_rate rule is a number, not '5%'; write a share: 0.05 for 5%"),
    ("{kind: lake_age, threshold: 1d, window: 7 days}",
     "window '7 days' is not a length of time; write a positive number and a unit"),
])
def test_a_malformed_rule_is_refused_naming_the_key_and_the_fix(
        rule: str, message: str, tmp_path: Path, example_projects: ExampleProjects) -> None:
    root = example_projects.copy("titanic-ingested", tmp_path / "titanic")
    _rules(root, rule)
    done = run("monitor", "check", cwd=root, check=2)
    assert "shipyard.yaml is invalid" in _output(done) and message in _output(done), _output(done)
    assert "Traceback" not in done.stderr


def test_rules_of_a_model_never_served_are_unknown_with_the_fix(trained: Path) -> None:
    _rules(trained, "{kind: p99_latency_ms, target: titanic, threshold: 200}",
           "{kind: rejection_rate, target: titanic, threshold: 0.1}")
    text = _output(run("monitor", "check", "--fail-on-firing", cwd=trained))  # unknown: no exit 6
    assert len(re.findall(r"titanic – \S+ unknown no prediction log at", text)) == 2, text
    assert "no rule firing (2 checked)" in text
    done = run("monitor", "drift", "titanic", cwd=trained, check=1)
    assert "nothing has been served yet; serve the model with 'shipyard serve'" in _output(done)
    assert "Traceback" not in done.stderr


def test_outcomes_of_a_classifier_or_a_misspelt_model_name_the_fix(trained: Path) -> None:
    done = run("monitor", "outcomes", "titanic", cwd=trained, check=1)
    assert ("model 'titanic' is not a recommender: outcomes score the sets a recommender "
            "published; a classifier's inputs and predictions are watched by 'shipyard monitor "
            "drift titanic'") in _output(done)
    done = run("monitor", "outcomes", "titanc", cwd=trained, check=1)
    assert "no registered model 'titanc'" in _output(done)
    assert "did you mean 'titanic'?" in _output(done) and "Traceback" not in done.stderr
