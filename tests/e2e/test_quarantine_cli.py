"""``shipyard quarantine show|accept latest``: the pasteable name of the newest rejected batch."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cli import run


def test_latest_names_the_newest_batch_or_says_the_quarantine_is_empty(
        events_project: Path) -> None:
    empty = run("quarantine", "show", "latest", cwd=events_project, check=1)
    assert "quarantine is empty" in empty.stderr + empty.stdout
    wrong = run("quarantine", "accept", "newest", "--reason", "x", cwd=events_project, check=2)
    assert "neither a batch id nor 'latest'" in wrong.stderr + wrong.stdout
