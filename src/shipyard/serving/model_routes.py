"""The routes of one served classifier: ``POST /v1/models/{name}/predict`` and
``GET /v1/models/{name}/example``, plus the 404 of a model not served here.

The predict body's schema is made from the model's MLflow signature (:func:`row_model`), so
a wrong or missing field is a 422 that names it, and the OpenAPI document shows the real
columns. A model still loading, or one whose batcher stopped, is a 503 (see /ready).
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of the route
# functions built below (a body model made at run time) and needs them as objects.
import json
import time
from typing import Any

from fastapi import FastAPI, Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from shipyard.errors import NotFoundError, NotReady, StillLoading
from shipyard.serving.batching import BatcherStopped, MicroBatcher
from shipyard.serving.predlog import PredictionLog
from shipyard.serving.schemas import SECURED, Predictions, error_responses
from shipyard.serving.served import ModelSlots

__all__ = ["add_example_route", "add_predict_route", "add_unknown_model_route"]


def _still_loading(name: str) -> StillLoading:
    return StillLoading(f"model {name!r} is still loading; see /ready")


def add_example_route(app: FastAPI, name: str, slots: ModelSlots, secured: list[Any]) -> None:
    """``GET /v1/models/{name}/example``: a valid request body, from the model's test rows."""

    def show() -> dict[str, Any]:
        served = slots.current.get(name)
        if served is None:
            raise _still_loading(name)
        return {"rows": served.example}

    app.add_api_route(f"/v1/models/{name}/example", show, methods=["GET"], tags=["models"],
                      dependencies=secured, responses=error_responses(*SECURED),
                      summary=f"A valid predict request body for {name}")


def add_predict_route(app: FastAPI, name: str, row: type[BaseModel], batcher: MicroBatcher,
                      max_rows: int, log: PredictionLog | None, secured: list[Any]) -> None:
    """``POST /v1/models/{name}/predict``: up to ``max_rows`` rows, batched with other
    requests by ``batcher``, each answer logged to ``log`` (when there is one)."""
    body = create_model(f"{name.title()}Request", __config__=ConfigDict(extra="forbid"),
                        rows=(list[row], Field(min_length=1, max_length=max_rows)))  # type: ignore[valid-type]

    async def predict(request: body) -> Response:  # type: ignore[valid-type]
        started = time.perf_counter()
        if name not in batcher.slots.current:
            raise _still_loading(name)
        rows = [r.model_dump() for r in request.rows]  # type: ignore[attr-defined]
        try:
            done = await batcher.predict(rows)
        except BatcherStopped as error:
            raise NotReady(f"model {name!r} cannot answer ({error}); restart the "
                           f"server") from error
        probabilities = done.probabilities.tolist()
        if log is not None:
            log.record(name, done.version, rows, probabilities,
                       (time.perf_counter() - started) * 1000)
        # Built as JSON directly: the response model documents it, re-validating it per
        # request would cost a tenth of the request.
        return Response(json.dumps({"model": name, "version": done.version, "predictions": [
            {"prediction": int(p >= 0.5), "probability": p} for p in probabilities]}),
            media_type="application/json")

    app.add_api_route(f"/v1/models/{name}/predict", predict, methods=["POST"],
                      response_model=Predictions, dependencies=secured, tags=["models"],
                      responses=error_responses(*SECURED, 400, 413),
                      summary=f"Predict with the production version of {name}")


def add_unknown_model_route(app: FastAPI, served: list[str], secured: list[Any]) -> None:
    """``POST /v1/models/{name}/predict`` of any other name: a 404 naming the served ones
    (added after the served models' routes, which match first; not in the OpenAPI document)."""

    @app.post("/v1/models/{name}/predict", tags=["models"], dependencies=secured,
              include_in_schema=False)
    def unknown_model(name: str) -> None:
        raise NotFoundError(f"model {name!r} is not served here; served: "
                            f"{', '.join(sorted(served)) or 'none'}")
