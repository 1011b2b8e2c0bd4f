"""One customer's champion and challenger lists: the champion's from the published set (what
the API serves), the challenger's computed; bought items and differences marked."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shipyard.batch.results import ResultsStore
from shipyard.project import Project
from shipyard.recsys.data import Interactions
from shipyard.recsys.model import RecModel, fit_recommender
from shipyard.registry import Registry
from shipyard.ui import topk

YAML = """\
project: p
environments: {dev: {lake: lake}}
pipelines: {train: {function: "jobs:train"}}
models: {recommender: {pipeline: train, primary_metric: map_at_10}}
"""


def popularity(pairs: list[tuple[str, str]]) -> RecModel:
    frame = pd.DataFrame(pairs, columns=["customer", "product"])
    return fit_recommender("popularity", {}, Interactions.from_frame(frame, "customer", "product"))


CHAMPION = popularity([("C1", "A"), ("C2", "A"), ("C3", "A"), ("C1", "B"), ("C2", "B"),
                       ("C1", "C")])
CHALLENGER = popularity([("C1", "D"), ("C2", "D"), ("C3", "D"), ("C1", "A"), ("C2", "A"),
                         ("C3", "C")])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    (tmp_path / "shipyard.yaml").write_text(YAML)
    project = Project.open(tmp_path)
    client = Registry.of(project).client
    client.create_registered_model("recommender")
    for _ in (1, 2):
        client.create_model_version("recommender", tmp_path.as_uri())
    client.set_registered_model_alias("recommender", "production", "1")
    client.set_registered_model_alias("recommender", "staging", "2")
    models = {1: CHAMPION, 2: CHALLENGER}
    monkeypatch.setattr(topk, "loaded_recommender", lambda _p, _n, version: models[version])
    return project


def test_the_challenger_is_marked_where_it_differs_from_the_published_champion(
        project: Project) -> None:
    ResultsStore.of(project).write("recommender", 1, 3, [[("C1", ["A", "B", "C"], [3.0, 2.0, 1.0])]])

    champion, challenger = topk.customer_topk(project, "C1", {"B"})

    assert champion is not None and challenger is not None
    assert (champion.version, champion.fallback) == (1, False)
    assert champion.source.startswith("published set recommender-v1-")
    assert [(r.product, r.score, r.bought, r.shared, r.other_rank) for r in champion.items] == [
        ("A", 3.0, False, True, 2), ("B", 2.0, True, False, None), ("C", 1.0, False, True, 3)]
    assert challenger.version == 2 and challenger.published is None
    assert [(r.product, r.shared, r.other_rank) for r in challenger.items] == [
        ("D", False, None), ("A", True, 1), ("C", True, 3)]


def test_a_customer_outside_the_set_gets_the_fallback_as_the_api_would(project: Project) -> None:
    ResultsStore.of(project).write("recommender", 1, 2, [[("C1", ["A", "B"], [3.0, 2.0])]])
    champion, challenger = topk.customer_topk(project, "C999", set())
    assert champion is not None and champion.fallback
    assert [r.product for r in champion.items] == ["A", "B"]
    assert challenger is not None and challenger.fallback  # never seen by the challenger either


def test_before_anything_is_published_the_champion_is_computed(project: Project) -> None:
    champion, _ = topk.customer_topk(project, "C2", set(), k=2)
    assert champion is not None and champion.source.startswith("computed now")
    assert [r.product for r in champion.items] == ["A", "B"]


def test_without_a_separate_staging_version_there_is_no_challenger(project: Project) -> None:
    Registry.of(project).set_alias("recommender", "staging", 1)
    champion, challenger = topk.customer_topk(project, "C1", set(), k=2)
    assert challenger is None and champion is not None
    assert all(r.shared for r in champion.items)  # nothing to differ from
