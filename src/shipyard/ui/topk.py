"""One customer's top-K from the champion and the challenger, side by side, differences marked.

MAP@K alone does not tell whether recommendations make sense; a person looking at one
customer's history beside what each version would recommend does. The champion's list is the
one applications read: the current published set in the results database (what ``shipyard
recommend`` wrote and the API serves), or, before any set was published, the ``production``
version's answer computed now. The challenger (the ``staging`` version, when it is not also
production) was never published, so its list is computed now, with the same rule as publishing
(``exclude_seen`` from the model's parameters).

Registered versions never change, so a loaded model is kept (the last few) and a customer's
lists cost one matrix-vector product.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from mlflow.exceptions import MlflowException

from shipyard.batch.results import ResultsStore
from shipyard.names import PRODUCTION, STAGING
from shipyard.project import Project
from shipyard.registry import Registry

if TYPE_CHECKING:
    from shipyard.recsys.model import RecModel

__all__ = ["Ranked", "TopK", "customer_topk", "loaded_recommender"]

KEPT_MODELS = 4
"""Loaded recommender versions kept in memory (champion and challenger of two environments)."""


@dataclass(frozen=True)
class Ranked:
    product: str
    score: float
    bought: bool
    """The customer bought it before."""
    shared: bool
    """The other list recommends it too (always True when there is no other list)."""
    other_rank: int | None
    """Its rank (1-based) in the other list, if there."""


@dataclass(frozen=True)
class TopK:
    role: str
    """``champion`` or ``challenger``."""
    version: int
    source: str
    """Where the list comes from: the published set (its id and time) or computed now."""
    published: datetime | None
    fallback: bool
    """The model has never seen the customer, and answers with its most popular products."""
    items: list[Ranked]


_models: OrderedDict[tuple[str, str, int], RecModel] = OrderedDict()
_lock = threading.Lock()


def loaded_recommender(project: Project, name: str, version: int) -> RecModel | None:
    """Version ``version`` of ``name`` loaded (kept for later calls); None: not a recommender."""
    from shipyard.recsys.model import RecModel

    key = (project.tracking_uri, name, version)
    with _lock:
        if key in _models:
            _models.move_to_end(key)
            return _models[key]
    model, _, _ = Registry.of(project).load(name, version)
    if not isinstance(model, RecModel):
        return None
    with _lock:
        _models[key] = model
        while len(_models) > KEPT_MODELS:
            _models.popitem(last=False)
    return model


def _computed(model: RecModel, customer: str, k: int) -> tuple[list[tuple[str, float]], bool]:
    exclude = bool(model.params.get("exclude_seen", False))
    fallback = bool(model.user_index([customer])[0] < 0)
    return model.recommend([customer], k, exclude_seen=exclude)[0], fallback


def _mark(pairs: list[tuple[str, float]], other: list[tuple[str, float]] | None,
          bought: set[str]) -> list[Ranked]:
    ranks = {p: i for i, (p, _) in enumerate(other or [], start=1)}
    return [Ranked(p, float(s), p in bought, other is None or p in ranks, ranks.get(p))
            for p, s in pairs]


def customer_topk(project: Project, customer: str, bought: set[str], *,
                  model: str = "recommender", k: int | None = None,
                  registry: Registry | None = None) -> tuple[TopK | None, TopK | None]:
    """(champion, challenger) lists for ``customer``; either is None when there is no such
    version (nothing in production and nothing published; no staging version apart from
    production). ``bought``: the customer's products, marked in both lists. ``k``: the
    published set's K (10 when nothing is published).

    Raises:
        NotFoundError: no registered model ``model``.
    """
    registry = registry or Registry.of(project)
    try:
        found = registry.client.get_registered_model(model)
    except MlflowException:
        registry.versions(model)  # no such model: a NotFoundError naming those there are
        raise
    aliases = {a: int(v) for a, v in found.aliases.items()}
    production, staging = aliases.get(PRODUCTION), aliases.get(STAGING)
    store = ResultsStore.of(project)
    current = store.current(model)
    k = k or (current.k if current is not None else 10)
    champion: tuple[int, str, datetime | None, bool, list[tuple[str, float]]] | None = None
    if current is not None:
        version, pairs = store.for_customer(model, customer)
        fallback = version is None  # not in the set: the API answers with the popularity list
        if fallback and production is not None:
            fitted = loaded_recommender(project, model, production)
            pairs = fitted.most_popular(k) if fitted is not None else []
        champion = (current.version, f"published set {current.id}", current.created_at,
                    fallback, pairs[:k])
    elif production is not None:
        fitted = loaded_recommender(project, model, production)
        if fitted is not None:
            pairs, fallback = _computed(fitted, customer, k)
            champion = (production, "computed now (no set published yet)", None, fallback, pairs)
    challenger = None
    if staging is not None and staging != production:
        fitted = loaded_recommender(project, model, staging)
        if fitted is not None:
            pairs, fallback = _computed(fitted, customer, k)
            challenger = (staging, "computed now (a challenger is never published)", None,
                          fallback, pairs)
    lists = [champion[4] if champion else None, challenger[4] if challenger else None]
    made = []
    for role, found, other in (("champion", champion, lists[1]),
                               ("challenger", challenger, lists[0])):
        made.append(None if found is None else TopK(
            role, found[0], found[1], found[2], found[3], _mark(found[4], other, bought)))
    return made[0], made[1]
