"""Promote, rollback and the server's hot swap called as a library, in this process.

The Titanic example with two gate-passing versions is built once per session by the CLI
(tests/e2e/examples.py); here a private copy of it is driven through the registry functions and
:class:`ModelSlots`, the object ``shipyard serve`` swaps models with, without a server process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import NotFoundError, PromotionRefused
from shipyard.project import Project
from shipyard.registry import AuditTrail
from shipyard.registry.client import Registry
from shipyard.registry.promote import promote, rollback
from shipyard.serving.served import ModelSlots
from tests.e2e.examples import ExampleProjects


@pytest.fixture
def project(tmp_path: Path, example_projects: ExampleProjects) -> Project:
    """Titanic: version 1 in production, version 2 staged."""
    return Project.open(example_projects.copy("titanic-two-versions", tmp_path / "titanic"), "dev")


def test_promote_moves_production_archives_the_last_and_the_slot_swaps(project: Project) -> None:
    loaded: list[tuple[str, int]] = []
    slots = ModelSlots(project, ["titanic"],
                       on_load=lambda served: loaded.append((served.name, served.version)))
    assert slots.refresh() == ["titanic v1"] and slots.ready()
    moved = promote(project, "titanic", 2, reason="better recall", actor="ana")
    assert (moved.version, moved.previous, moved.action) == (2, 1, "promoted")
    registry = Registry(project)
    assert registry.alias("titanic", "production") == 2
    assert (registry.status("titanic", 2), registry.status("titanic", 1)) == (
        "production", "archived")
    entry = AuditTrail(project.metadata_engine).history("titanic")[0]
    assert (entry.version, entry.action, entry.actor, entry.reason) == (
        2, "promoted", "ana", "better recall")
    assert slots.refresh() == ["titanic v2"]
    assert slots.current["titanic"].version == 2 and slots.swaps == 1
    assert slots.refresh() == []  # nothing moved: nothing is loaded again
    back = rollback(project, "titanic", reason="v2 misbehaves", actor="ana")
    assert (back.version, back.previous) == (1, 2)
    assert slots.refresh() == ["titanic v1"] and slots.swaps == 2
    assert loaded == [("titanic", 1), ("titanic", 2), ("titanic", 1)]


def test_a_promotion_that_changes_nothing_or_names_nothing_is_refused(project: Project) -> None:
    with pytest.raises(PromotionRefused, match="production already"):
        promote(project, "titanic", 1, reason="again")
    with pytest.raises(NotFoundError):
        promote(project, "titanic", 99, reason="no such version")
    with pytest.raises(PromotionRefused, match="first production version"):
        rollback(project, "titanic", reason="nothing before it")
    assert Registry(project).alias("titanic", "production") == 1
