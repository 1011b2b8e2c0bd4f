"""``shipyard monitor drift`` on the Titanic example, as a user would meet it.

The promoted model is served and really asked for predictions of every passenger, with ages
shifted by thirty years on purpose (a front end that started sending birth-year arithmetic
wrong, say); the server logs them; ``monitor drift --fail-on-drift`` exits 5 naming ``age``
and leaves a report page that opens offline. The errors a user meets first — an unknown
model, an empty window, a version registered before profiles existed — name their fix.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.e2e.examples import ExampleProjects
from tests.e2e.server import AUTH, http, serving

FEATURES = ["pclass", "sex", "age", "sibsp", "parch"]
AGE_SHIFT = 30.0


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory, example_projects: ExampleProjects) -> Path:
    """Titanic trained, version 1 in production, then served every passenger, ages shifted."""
    root = example_projects.copy("titanic-trained", tmp_path_factory.mktemp("monitor") / "titanic")
    # one drifting input in five is enough to call the model drifted in this project
    with (root / "shipyard.yaml").open("a") as config:
        config.write("\nmonitoring:\n  drift_share: 0.2\n")
    with sqlite3.connect(root / "source.db") as db:
        rows = [dict(zip(FEATURES, r, strict=True)) for r in db.execute(
            f"SELECT {', '.join(FEATURES)} FROM passengers")]
    for row in rows:
        if row["age"] is not None:
            row["age"] += AGE_SHIFT
    with serving(root) as base:
        for start in range(0, len(rows), 100):
            answer = http.post(f"{base}/v1/models/titanic/predict", headers=AUTH,
                               json={"rows": rows[start:start + 100]})
            assert answer.status_code == 200, answer.text
    return root  # the server flushed its prediction log when it stopped


def _output(done) -> str:  # type: ignore[no-untyped-def]
    return " ".join(f"{done.stdout}\n{done.stderr}".split())


def test_shifted_ages_fail_the_check_with_exit_5_and_an_offline_report(titanic: Path) -> None:
    done = run("monitor", "drift", "titanic", "--fail-on-drift", cwd=titanic, check=5)
    text = _output(done)
    assert re.search(r"drift detected in model titanic version 1: age\b", text), text
    reports = titanic / ".shipyard" / "dev" / "reports" / "monitoring" / "titanic"
    data = max(reports.glob("drift-*.json"))  # named by time: the newest
    saved = json.loads(data.read_text())
    assert saved["rows"] == 1309 and saved["verdict"]["drifted"]
    skew = {r["column"]: r["drifted"] for r in saved["results"] if r["kind"] == "skew"}
    assert skew["age"] and not any(skew[c] for c in ("pclass", "sex", "sibsp", "parch")), skew
    page = data.with_suffix(".html").read_text()
    assert "Plotly.newPlot(" in page and len(page) < 200_000  # the library is not inlined
    assert re.findall(r"<script[^>]*src=\"([^\"]+)\"", page) == ["../plotly.min.js"]
    assert "plotly.js v" in (reports.parent / "plotly.min.js").read_text()


def test_without_fail_on_drift_drift_is_reported_not_failed(titanic: Path) -> None:
    done = run("monitor", "drift", "titanic", "--window", "1d", cwd=titanic)
    assert "drift detected in model titanic" in _output(done)


def test_an_unknown_model_and_an_empty_window_name_the_fix(titanic: Path) -> None:
    done = run("monitor", "drift", "titanc", cwd=titanic, check=1)
    assert ("no registered model 'titanc' (registered in dev: titanic; models declared in "
            "shipyard.yaml: titanic); did you mean 'titanic'?") in _output(done)
    assert "Traceback" not in done.stderr
    done = run("monitor", "drift", "titanic", "--since", "2020-01-01", cwd=titanic, check=1)
    assert "no predictions of model 'titanic' logged in" in _output(done)
    assert "--window 30d" in _output(done) and "Traceback" not in done.stderr
    done = run("monitor", "drift", "titanic", "--window", "soon", cwd=titanic, check=2)
    assert "30m, 12h, 7d or 2w" in _output(done)


def test_a_version_registered_without_a_profile_says_to_retrain(titanic: Path) -> None:
    (profile,) = (titanic / ".shipyard" / "dev" / "mlartifacts").rglob("reference_profile.json")
    profile.unlink()  # the version is now as one registered before profiles were kept
    done = run("monitor", "drift", "titanic", cwd=titanic, check=1)
    text = _output(done)
    assert "model 'titanic' version 1 has no reference profile" in text
    assert "shipyard run train --no-cache" in text and "Traceback" not in done.stderr
