"""``shipyard deploy smoke URL`` against real ``shipyard serve`` processes, as a CD job runs it.

On a correct server every check passes and the command exits 0; a wrong key makes the checks
that need one fail and the command exit 1; no key at all is a usage error naming the variable.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.e2e.examples import TITANIC_SMOKE_PASSED, ExampleProjects, small
from tests.e2e.server import KEY, serving


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory, example_projects: ExampleProjects) -> Path:
    return example_projects.copy("titanic-trained", tmp_path_factory.mktemp("smoke") / "titanic")


def test_smoke_passes_on_a_served_classifier_and_fails_with_a_wrong_key(titanic: Path) -> None:
    with serving(titanic) as base:
        done = run("deploy", "smoke", base, cwd=titanic, env={"SHIPYARD_API_KEY": KEY})
        for check in ("GET /ready names the served versions", "titanic: example input → 200",
                      "titanic: missing column → 422", "titanic: wrong type → 422",
                      "titanic: malformed JSON → 422", "titanic: 1001 rows (over the limit)",
                      "titanic: predict without a key → 401", "unknown customer",
                      "V2: titanic metadata and infer → 200", "V2: unknown model → 404",
                      "V2: without a key → 401", "/invocations: dataframe_split → 200",
                      "/invocations: dataframe_records → 200", "/ping → 200",
                      "/invocations without a key → 401"):
            assert check in done.stdout, done.stdout
        assert "titanic v1" in done.stdout and TITANIC_SMOKE_PASSED in done.stdout

        wrong = run("deploy", "smoke", base, "--api-key-env", "OTHER_KEY", cwd=titanic,
                    env={"OTHER_KEY": "not-the-server-key-at-all"}, check=1)
        assert "FAILED" in wrong.stdout and "check(s) failed" in wrong.stdout
        assert re.search(r"GET /health answers 200 +│ ok", wrong.stdout)  # needs no key

    missing = run("deploy", "smoke", base, "--api-key-env", "NO_SUCH_VAR_SET", cwd=titanic,
                  env={"NO_SUCH_VAR_SET": ""}, check=2)
    assert "NO_SUCH_VAR_SET" in missing.stderr


def test_smoke_checks_recommendations_of_a_known_and_an_unknown_customer(
        tmp_path: Path, example_projects: ExampleProjects) -> None:
    shop = example_projects.copy("recommender-small-ingested", tmp_path / "shop")
    small(shop)
    run("run", "train", cwd=shop)
    run("models", "promote", "recommender", "1", "--reason", "smoke", cwd=shop)
    run("recommend", "--top", "10", cwd=shop)
    with sqlite3.connect(shop / ".shipyard" / "dev" / "results.db") as con:
        customer = con.execute("SELECT customer_id FROM shipyard_recommendations LIMIT 1"
                               ).fetchone()[0]
    con.close()
    with serving(shop) as base:
        done = run("deploy", "smoke", base, "--customer", str(customer), cwd=shop,
                   env={"SHIPYARD_API_KEY": KEY})
    assert f"recommendations: customer {customer} → 200" in done.stdout, done.stdout
    assert "popular items (fallback)" in done.stdout, done.stdout
    assert "recommender v1" in done.stdout
