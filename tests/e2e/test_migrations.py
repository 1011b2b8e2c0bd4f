"""A project whose database an earlier release made: the first command upgrades it, rows kept.

As when a team upgrades Shipyard over its PostgreSQL, or over the SQLite files of a project
folder: nobody runs a migration by hand, the first command does it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from shipyard.db.migrate import VERSION_TABLES
from tests.e2e.cli import run
from tests.unit.db.test_migrations import (
    BACKENDS,
    HEADS,
    LEGACY_SCHEMAS,
    RUN,
    make_legacy_database,
    new_database,
)


@pytest.mark.parametrize("backend", BACKENDS)
def test_commands_upgrade_an_earlier_release_database_and_show_its_rows(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = new_database(backend, request, tmp_path)
    project = tmp_path / "shop"
    run("init", str(project), cwd=tmp_path)
    config = yaml.safe_load((project / "shipyard.yaml").read_text())
    config["environments"]["dev"].update(metadata_db=url, results_db=url)
    (project / "shipyard.yaml").write_text(yaml.safe_dump(config))
    make_legacy_database(url, LEGACY_SCHEMAS["previous release"])

    runs = run("runs", "ls", cwd=project).stdout

    assert RUN in runs and "sample 0.25, no-cache" in runs, runs
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stamped = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLES['metadata']}"))
        assert list(stamped.scalars()) == HEADS["metadata"]
    engine.dispose()
