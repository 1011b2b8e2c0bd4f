"""The prod path of the recommender example, by the README alone: its PostgreSQL database is
created by the first command that needs it, a model that is only in dev is reported as such
with the commands that make it in prod, and every hint printed in prod acts on prod."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import pg_database_exists
from tests.e2e.cli import run
from tests.e2e.examples import ExampleProjects, small

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def hint(text: str, label: str) -> list[str]:
    """The command printed after ``label`` (e.g. ``details:``), as arguments to ``run``."""
    found = re.search(rf"{label} (shipyard .+)$", text, re.MULTILINE)
    assert found, f"no {label!r} hint in:\n{text}"
    return shlex.split(found[1])[1:]


def test_prod_is_created_and_every_hint_printed_in_prod_stays_in_prod(
        example_projects: ExampleProjects, tmp_path: Path, pg_missing_url: str) -> None:
    shop = example_projects.copy("recommender-small-ingested", tmp_path / "shop")
    small(shop, trials=2)
    run("run", "train", cwd=shop)  # the dev steps: a model in dev's registry
    prod = {"SHIPYARD_PROD_DB": pg_missing_url}
    database = make_url(pg_missing_url).database or ""

    ingested = run("ingest", "--env", "prod", cwd=shop, env=prod)
    assert f"database {database!r} did not exist" in ingested.stderr
    assert "created it" in ingested.stderr and "Traceback" not in ingested.stderr
    assert pg_database_exists(database)
    assert "lake-prod" in ingested.stdout

    # Dev's model is not prod's: the message says why, where prod's registry is, and what to do.
    missing = run("recommend", "--env", "prod", cwd=shop, env=prod, check=1)
    said = " ".join(missing.stderr.split())
    assert "no registered model 'recommender' in environment prod" in said
    assert "Models are registered per environment: prod's registry is at" in said
    assert "(environments.prod.tracking_uri)" in said
    assert "'shipyard run train --env prod'" in said
    assert "'shipyard models promote recommender VERSION --reason \"...\" --env prod'" in said

    trained = run("run", "train", "--env", "prod", cwd=shop, env=prod)
    shown = run(*hint(trained.stdout, "details:"), cwd=shop, env=prod)
    assert "(prod)" in shown.stdout.splitlines()[0]
    promote = hint(trained.stdout, "next:")
    assert promote[-2:] == ["--env", "prod"]
    promote[promote.index("--reason") + 1] = "first in prod"
    promoted = run(*promote, cwd=shop, env=prod)
    assert "shipyard models show recommender --env prod" in promoted.stdout

    published = run("recommend", "--env", "prod", cwd=shop, env=prod)
    assert database in published.stdout
    in_dev = run("models", "ls", cwd=shop, env=prod).stdout
    assert re.search(r"recommender\s+│ 1\s+│ -", in_dev), in_dev  # dev's v1: never promoted
