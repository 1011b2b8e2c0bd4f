"""Promoting a recommender changes what ``/v1/recommendations`` answers, or says why not.

The server answers recommendations from the current published set, not from the production
model. Before, promoting v2 moved ``/ready`` to v2 while the answers stayed v1's until someone
ran ``shipyard recommend``, and nothing said so. Now a promotion (or rollback) publishes the new
version's set by default; with ``publish_on_promote: false`` it names the set still served and
the command that publishes the new one.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from shipyard.batch.results import ResultsStore
from shipyard.project import Project
from tests.e2e.cli import run
from tests.e2e.examples import ExampleProjects
from tests.e2e.test_ui_pages import OPERATOR, signed_in


@pytest.fixture
def shop(tmp_path: Path, example_projects: ExampleProjects) -> Path:
    """v1 in production with its set published, then a month later the baseline as v2."""
    root = example_projects.copy("recommender-published", tmp_path / "shop")
    done = run("run", "baseline", cwd=root).stdout
    assert "Model recommender version 2 registered" in done, done
    return root


def _current(root: Path) -> tuple[str, int]:
    made = ResultsStore.of(Project.open(root, "dev")).current("recommender")
    assert made is not None
    return made.id, made.version


def test_promoting_a_recommender_publishes_its_set(shop: Path) -> None:
    before, _ = _current(shop)
    done = run("models", "promote", "recommender", "2", "--reason", "baseline", cwd=shop).stdout
    after, version = _current(shop)
    assert version == 2 and after != before
    assert re.search(rf"published set {after} \([\d,]+ customers × top 10 from v2\)", done), done
    back = run("models", "rollback", "recommender", "--reason", "back", cwd=shop).stdout
    again, version = _current(shop)
    assert version == 1 and again not in (before, after) and f"published set {again}" in back


def test_without_publishing_on_promotion_the_move_names_the_set_still_served(
        shop: Path) -> None:
    config = shop / "shipyard.yaml"
    config.write_text(config.read_text().replace("    promote: manual\n", "    promote: manual\n"
                                                 "    publish_on_promote: false\n", 1))
    served, _ = _current(shop)
    done = run("models", "promote", "recommender", "2", "--reason", "baseline", cwd=shop).stdout
    assert _current(shop) == (served, 1)
    flat = " ".join(done.split())
    assert (f"/v1/recommendations still answers from set {served} (v1, published" in flat
            and "until 'shipyard recommend --model recommender --top 10' publishes v2's" in flat
            ), flat
    client, _ = signed_in(shop, OPERATOR)  # the Models page says the same
    page = " ".join(html.unescape(client.get("/ui/models/recommender").text).split())
    assert (f"/v1/recommendations answers from set {served} (v1, published" in page
            and "not from production v2: 'shipyard recommend --model recommender --top 10' "
                "publishes its set" in page), page
