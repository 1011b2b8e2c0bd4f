"""``shipyard init`` in a terminal asks for what it is not told, and writes the same project."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import typer

from shipyard.cli.init import init_project
from shipyard.project import Project


def test_a_person_at_the_terminal_is_asked_for_the_source_kind_and_target(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "trips.csv").write_text("trip_id,city,km,late\n1,oslo,3.5,0\n2,bergen,12,1\n")
    answers = iter([str(tmp_path / "trips.csv"), "classifier", "late"])
    asked: list[str] = []

    def prompt(question: str, default: str | None = None) -> str:
        asked.append(question)
        return next(answers)

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    init_project(tmp_path / "trips", source=None, tables=[], kind=None, target=None, user=None,
                 item=None, time=None, key=["trip_id"], name=None)
    assert asked[0].startswith("Source") and asked[2] == "Target column (trip_id, city, km, late)"
    config = Project.open(tmp_path / "trips").config
    assert config.sources["trips"].url == "../trips.csv"
    assert config.tables["trips"].primary_key == ["trip_id"]
    assert config.models["trips"].primary_metric == "roc_auc"
    assert 'TARGET = "late"' in (tmp_path / "trips" / "pipeline.py").read_text()
