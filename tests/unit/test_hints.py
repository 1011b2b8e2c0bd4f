"""Commands suggested by messages act on the environment they were printed in."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from shipyard.errors import NotFoundError
from shipyard.hints import command
from shipyard.lake.tables import DeltaStore
from shipyard.project import Project
from shipyard.tracking.records import RunStore

CONFIG = """\
project: hinted
environments:
  dev: {lake: lake}
  prod: {lake: lake-prod}
"""


@pytest.fixture
def prod(tmp_path: Path) -> Project:
    (tmp_path / "shipyard.yaml").write_text(CONFIG)
    return Project.open(tmp_path, "prod")


def test_the_default_environment_needs_no_flag() -> None:
    assert command("runs show train-1") == "shipyard runs show train-1"
    assert command("ingest", "dev") == "shipyard ingest"


def test_another_environment_is_named_last_so_it_follows_any_arguments() -> None:
    assert command('models promote recommender 3 --reason "..."', "prod") == (
        'shipyard models promote recommender 3 --reason "..." --env prod')


def test_an_environment_name_that_a_shell_would_split_is_quoted() -> None:
    line = command("lake ls", "eu west")
    assert shlex.split(line) == ["shipyard", "lake", "ls", "--env", "eu west"]


def test_a_project_writes_commands_for_its_own_environment(prod: Project, tmp_path: Path) -> None:
    assert prod.command("runs ls") == "shipyard runs ls --env prod"
    assert Project.open(tmp_path).command("runs ls") == "shipyard runs ls"


def test_an_empty_lake_names_its_environment_and_the_ingest_that_fills_it(prod: Project) -> None:
    with pytest.raises(NotFoundError) as raised:
        DeltaStore.of(prod).open("clean", "orders")
    message = str(raised.value)
    assert "prod's lake at" in message and prod.lake_root in message
    assert "'shipyard ingest --env prod'" in message


def test_a_store_opened_from_a_project_suggests_commands_in_its_environment(
        prod: Project) -> None:
    with pytest.raises(NotFoundError, match=r"'shipyard runs ls --env prod'"):
        RunStore.of(prod).get("train-nope")
