"""``GET /v1/recommendations/{customer_id}``: a customer's top-K from the published set.

The answer comes from the recommendation set ``shipyard recommend`` (or a promotion) last
published for the server's recommender (:mod:`shipyard.batch.results`), through the server's
copy of its hot rows (:mod:`shipyard.serving.published`); a customer the set does
not hold gets the served model's most popular products when ``serving.popularity_fallback`` is
on, a 404 otherwise. What was served goes to the prediction log.
"""

# No ``from __future__ import annotations``: FastAPI reads the route annotations as objects.
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from shipyard.batch.results import ResultsStore
from shipyard.config.schema import ServingConfig
from shipyard.errors import NotFoundError
from shipyard.serving.predlog import PredictionLog
from shipyard.serving.published import PublishedRows
from shipyard.serving.request_ids import request_id
from shipyard.serving.schemas import (
    SECURED,
    Identifier,
    Recommendation,
    Recommendations,
    error_responses,
)
from shipyard.serving.served import ModelSlots

__all__ = ["recommendations_router"]


def recommendations_router(results: ResultsStore, config: ServingConfig, slots: ModelSlots,
                           log: PredictionLog | None, secured: list[Any]) -> APIRouter:
    """The recommendations route, guarded by ``secured`` (any valid key)."""
    router = APIRouter()
    model = config.recommender or "recommender"
    published = PublishedRows(results, model)

    @router.get("/v1/recommendations/{customer_id}", tags=["recommendations"],
                dependencies=secured, response_model=Recommendations,
                responses=error_responses(*SECURED, 404))
    async def recommendations(customer_id: Identifier, http: Request,
                              k: Annotated[int, Query(ge=1, le=100)] = 10
                              ) -> Recommendations:
        """The customer's current top-K from the published set (`shipyard recommend`, or a
        promotion that published one), naming the set and the version that made it."""
        started = time.perf_counter()
        found = await published.find(customer_id)
        if found is not None:
            (set_id, version, items), source = found, "results"
        else:
            served = slots.current.get(model)
            if not config.popularity_fallback or served is None or not served.is_recommender:
                raise NotFoundError(f"no recommendations for customer {customer_id!r}")
            set_id, version, items = None, served.version, served.model.most_popular(k)
            source = "popularity"
        if log is not None:
            log.record_recommendation(model, version, customer_id, items[:k], source=source, k=k,
                                      latency_ms=(time.perf_counter() - started) * 1000,
                                      request_id=request_id(http.scope))
        return Recommendations(customer_id=customer_id, model=model, version=version,
                               source=source, set_id=set_id,
                               items=[Recommendation(product_id=p, score=s)
                                                     for p, s in items[:k]])

    return router
