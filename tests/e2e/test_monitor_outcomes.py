"""``shipyard monitor outcomes`` and ``monitor drift`` of a recommender, on its example.

A small shop (300 customers, 3 months) is trained, version 1 promoted and its top 10 published;
the ERP records the next month and it is ingested: the published set now has an outcome, a hit
rate above zero beside the popularity baseline's. Then a drifted month is accepted from
quarantine, and ``monitor drift recommender`` — whose inputs are the interactions it learns
from, not requests — finds it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shipyard.config.schema import RuleConfig
from shipyard.monitoring.rules import evaluate
from shipyard.project import Project
from tests.e2e.cli import python, run
from tests.e2e.examples import ExampleProjects


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, example_projects: ExampleProjects) -> Path:
    return example_projects.copy("recommender-published",
                                 tmp_path_factory.mktemp("outcomes") / "shop")


def _reports(root: Path, kind: str) -> dict:  # type: ignore[type-arg]
    folder = root / ".shipyard" / "dev" / "reports" / "monitoring" / "recommender"
    return json.loads(max(folder.glob(f"{kind}-*.json")).read_text())


def test_a_published_set_is_scored_on_the_next_month_beside_the_baseline(shop: Path) -> None:
    done = run("monitor", "outcomes", cwd=shop)
    assert "#1" in done.stdout and "not logged" in done.stdout, done.stdout
    saved = _reports(shop, "outcomes")
    [outcome] = saved["sets"]
    assert outcome["version"] == 1 and outcome["k"] == 10 and outcome["buyers"] > 0
    assert outcome["model"]["hit_rate"] > 0 and 0 < outcome["model"]["map_at_k"] <= 1
    assert outcome["baseline"] is not None and outcome["baseline"]["hit_rate"] > 0
    assert 0 < outcome["coverage"] <= 1 and outcome["fallback_share"] is None
    reports = shop / ".shipyard" / "dev" / "reports" / "monitoring"
    page = max((reports / "recommender").glob("outcomes-*.html")).read_text()
    assert page.count("Plotly.newPlot(") == 1  # the series, as lines
    # the library: one copy beside the models' folders, offline
    assert re.findall(r"<script[^>]*src=\"([^\"]+)\"", page) == ["../plotly.min.js"]
    assert "plotly.js v" in (reports / "plotly.min.js").read_text()


def test_the_losing_to_baseline_rule_reads_both_scores_of_the_newest_period(shop: Path) -> None:
    saved = _reports(shop, "outcomes")["sets"][-1]
    ours, popular = saved["model"]["map_at_k"], saved["baseline"]["map_at_k"]
    config = shop / "shipyard.yaml"
    config.write_text(config.read_text() + "\nmonitoring:\n  rules:\n    - {kind: "
                      "losing_to_baseline, target: recommender, threshold: 1}\n")
    done = run("monitor", "check", cwd=shop)
    flat = " ".join(done.stdout.split())
    assert f"MAP@10 {ours:.3f} vs popularity {popular:.3f}" in flat, flat
    (result,) = evaluate(Project.open(shop, "dev"), RuleConfig(
        kind="losing_to_baseline", target="recommender", threshold=1)),
    assert result.value == (1 if ours < popular else 0)
    assert result.state == ("firing" if ours < popular else "ok")


def test_a_drifted_month_accepted_from_quarantine_is_found_in_the_interactions(
        shop: Path) -> None:
    python("erp.py", "next-month", "--drift", cwd=shop)
    run("ingest", cwd=shop, check=3)
    run("quarantine", "accept", "latest", "--reason", "promotion month", cwd=shop)
    done = run("monitor", "drift", "recommender", "--fail-on-drift", cwd=shop, check=5)
    assert "drift detected in model recommender version 1" in " ".join(
        f"{done.stdout} {done.stderr}".split())
    saved = _reports(shop, "drift")
    drifted = {r["column"] for r in saved["results"] if r["kind"] == "drift" and r["drifted"]}
    assert {"product", "category"} <= drifted and saved["verdict"]["drift"]["detected"]


def test_outcomes_without_a_published_set_name_the_fix(
        tmp_path: Path, example_projects: ExampleProjects) -> None:
    root = example_projects.copy("recommender-small-ingested", tmp_path / "empty")
    done = run("monitor", "outcomes", cwd=root, check=1)
    text = " ".join(f"{done.stdout} {done.stderr}".split())
    assert "shipyard recommend" in text and "Traceback" not in text
