"""Which published set ``/v1/recommendations`` answers from, once production has moved.

The server reads recommendations from the current published set, not from the production
model, so promoting (or rolling back) a recommender changes ``/ready`` at once but the answers
only when a set is published. By default a move publishes the new production version's set
right away (with the current set's K); ``models.<name>.publish_on_promote: false`` leaves that
to ``shipyard recommend`` (a nightly CronJob, say), and then every move says which set is
still served and the command that publishes the new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.batch.recommend import Published, publish_recommendations
from shipyard.batch.results import ResultsStore
from shipyard.names import FLAVOR
from shipyard.project import Project

__all__ = ["ServedSet", "after_production_moved", "publishes_on_promote"]

DEFAULT_K = 10


@dataclass(frozen=True)
class ServedSet:
    """What a move did to the served recommendations, and the line that says so."""

    published: Published | None
    message: str


def publishes_on_promote(project: Project, name: str) -> bool:
    """Whether a production move of the recommender ``name`` publishes its set (default yes)."""
    config = project.config.models.get(name)
    return config is None or config.publish_on_promote


def after_production_moved(project: Project, name: str, version: int) -> ServedSet | None:
    """Publish ``version``'s recommendations (or say which set is still served) after
    ``production`` moved to it; None when ``name`` is not a recommender."""
    from shipyard.registry import Registry

    if Registry.of(project).get(name, version).tags.get(FLAVOR) != "recommender":
        return None
    current = ResultsStore.of(project).current(name)
    k = current.k if current is not None else DEFAULT_K
    if publishes_on_promote(project, name):
        done = publish_recommendations(project, model=name, k=k)
        made = done.set
        return ServedSet(done, f"published set {made.id} ({made.customers:,} customers × top "
                               f"{made.k} from v{made.version}): /v1/recommendations answers "
                               f"from it now")
    publish = project.command(f"recommend --model {name} --top {k}")
    if current is None:
        return ServedSet(None, f"no recommendations of {name} are published yet; "
                               f"'{publish}' publishes v{version}'s")
    return ServedSet(None, f"/v1/recommendations still answers from set {current.id} "
                           f"(v{current.version}, published {current.created_at:%Y-%m-%d %H:%M} "
                           f"UTC) until '{publish}' publishes v{version}'s "
                           f"(models.{name}.publish_on_promote: false)")
