"""Top-K for every customer from the production recommender, into the results database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.batch.results import RecommendationSet, ResultsStore
from shipyard.errors import PipelineError
from shipyard.names import PRODUCTION
from shipyard.project import Project

if TYPE_CHECKING:
    from shipyard.pipeline.step import RunContext
    from shipyard.recsys.model import RecModel

__all__ = ["BATCH", "Published", "publish_recommendations", "publish_step"]

BATCH = 4096
"""Customers per chunk handed to the writer; their rows are written while the next chunk is
scored (the model scores a chunk in smaller batches of its own, see ``RecModel.top_k``)."""


@dataclass(frozen=True)
class Published:
    set: RecommendationSet
    results_url: str
    seconds: float


def _rows(model: RecModel, k: int, batch: int) -> Iterator[list[tuple[str, list[str], list[float]]]]:
    """(customer, products, scores) per customer, one list per batch of customers."""
    users = np.arange(len(model.users))
    exclude = bool(model.params.get("exclude_seen", False))
    for start in range(0, len(users), batch):
        rows = users[start:start + batch]
        items, scores = model.top_k(rows, k, exclude_seen=exclude)
        # whole-chunk conversions: a per-customer NumPy mask costs more than the scoring
        products = model.items[items].tolist()
        values = scores.tolist()
        short = ~np.isfinite(scores).all(axis=1)  # fewer than k unseen items: the rest -inf
        for j in np.flatnonzero(short).tolist():
            keep = np.isfinite(scores[j])
            products[j] = model.items[items[j][keep]].tolist()
            values[j] = scores[j][keep].tolist()
        yield list(zip(model.users[rows].tolist(), products, values, strict=True))


def publish_recommendations(project: Project, *, model: str = "recommender", k: int = 10,
                            alias: str = PRODUCTION, batch: int = BATCH) -> Published:
    """Compute every known customer's top ``k`` with the ``alias`` version of ``model`` and
    make them the current set in this environment's results database.

    Raises:
        NotFoundError: no such model, or no version holds the alias.
        PipelineError: the model is not a recommender.
    """
    import time

    from shipyard.recsys.model import RecModel
    from shipyard.registry import Registry

    started = time.perf_counter()
    registry = Registry.of(project)
    version = registry.version_at(model, alias)
    fitted, _, _ = registry.load(model, version)
    if not isinstance(fitted, RecModel):
        predict = project.command(f"predict {model} --input FILE --output FILE")
        raise PipelineError(f"model {model!r} is not a recommender; 'shipyard recommend' needs "
                            f"one (other models score files: '{predict}')")
    store = ResultsStore.of(project)
    made = store.write(model, version, k, _rows(fitted, k, batch))
    return Published(made, project.results_url, time.perf_counter() - started)


def publish_step(ctx: RunContext, top: int = 10, model: str = "recommender") -> dict[str, Any]:
    """A pipeline step (``step(publish_step, inputs={"ctx": "context"}, cache=False)``) that
    publishes the production recommender's top ``top`` for every customer; its summary is the
    step's output."""
    done = publish_recommendations(ctx.project, model=model, k=top)
    return {"set": done.set.id, "version": done.set.version, "customers": done.set.customers,
            "k": done.set.k, "seconds": round(done.seconds, 3)}
