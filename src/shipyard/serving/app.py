"""The HTTP API: predictions of served models, recommendations, pipeline triggers, health.

Routes are built from what the registry says when the app is made: each served classifier
gets ``POST /v1/models/{name}/predict`` whose body schema comes from the model's MLflow
signature, so a wrong or missing field is a 422 that names it, and the OpenAPI document shows
the real columns.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of the route
# functions built below (a body model made at run time) and needs them as objects.
import gc
import json
import time
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, create_model

from shipyard.config.schema import ServingConfig
from shipyard.project import Project
from shipyard.serving.auth import ApiKeys
from shipyard.serving.batching import MicroBatcher
from shipyard.serving.limits import Limits
from shipyard.serving.predlog import PredictionLog
from shipyard.serving.runs import pipeline_runs_router
from shipyard.serving.served import ModelSlots
from shipyard.serving.telemetry import Telemetry

__all__ = ["create_app"]

_TYPES: dict[str, Any] = {"double": float, "float": float, "long": int, "integer": int,
                          "string": str, "boolean": bool}


def _row_model(name: str, inputs: list[tuple[str, str, bool]]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for column, kind, required in inputs:
        python = _TYPES.get(kind, str)
        fields[column] = (python, ...) if required else (python | None, None)
    return create_model(f"{name.title()}Row", __config__=ConfigDict(extra="forbid"), **fields)


class Recommendation(BaseModel):
    product_id: str
    score: float


class Recommendations(BaseModel):
    customer_id: str
    model: str
    version: int | None
    source: str = Field(description="results (the batch set) or popularity (fallback)")
    items: list[Recommendation]


class PredictionOut(BaseModel):
    prediction: int
    probability: float


class Predictions(BaseModel):
    model: str
    version: int
    predictions: list[PredictionOut]


def _auth(keys: ApiKeys) -> Any:
    bearer = HTTPBearer(auto_error=False)
    header = APIKeyHeader(name="X-API-Key", auto_error=False)

    def check(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
              api_key: Annotated[str | None, Depends(header)]) -> None:
        token = credentials.credentials if credentials is not None else api_key
        if not keys.accepts(token):
            raise HTTPException(401, "missing or wrong API key: send 'Authorization: Bearer "
                                     "KEY' or 'X-API-Key: KEY'",
                                headers={"WWW-Authenticate": "Bearer"})
    return check


class _Observed:
    """Counts every response by route template and status, and times it."""

    def __init__(self, app: Any, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.telemetry.requests.labels(route, str(status)).inc()
            self.telemetry.latency.labels(route).observe(time.perf_counter() - started)


def create_app(project: Project, keys: ApiKeys, config: ServingConfig | None = None) -> FastAPI:
    """The ASGI app for ``project``'s production models (they load once it starts)."""
    config = config or project.config.serving
    names = config.models if config.models is not None else list(project.config.models)
    slots = ModelSlots(project, names)
    planned = slots.plan()
    telemetry = Telemetry()
    batchers: dict[str, MicroBatcher] = {}
    log = PredictionLog(project.lake_root, project.storage_options,
                        on_drop=telemetry.dropped_logs.inc) if config.prediction_log else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        # Everything loaded so far (MLflow, scikit-learn: millions of objects) is moved out of
        # the collector's sight, and the models too once loaded (ModelSlots.refresh);
        # otherwise each full collection walks them all and stalls every request in flight
        # for a fifth of a second.
        gc.collect()
        gc.freeze()
        for batcher in batchers.values():
            batcher.start()
        slots.watch(config.poll_s)
        if log is not None:
            log.start()
        yield
        slots.close()
        for batcher in batchers.values():
            await batcher.stop()
        if log is not None:
            log.close()

    app = FastAPI(title=f"Shipyard · {project.config.project}", lifespan=lifespan,
                  description="Predictions and recommendations of the production models.")
    app.state.slots = slots
    app.state.telemetry = telemetry
    secured = [Depends(_auth(keys))]

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        """The process is up (no key needed)."""
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"], dependencies=secured)
    def ready(response: Response) -> dict[str, Any]:
        """Every served model is loaded."""
        loaded = {n: s.version for n, s in slots.current.items()}
        if not slots.ready():
            response.status_code = 503
        return {"ready": slots.ready(), "models": loaded}

    @app.get("/metrics", tags=["operations"], dependencies=secured)
    def metrics() -> Response:
        """Prometheus metrics: requests, latency, batch sizes, model versions."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(telemetry.registry), media_type=CONTENT_TYPE_LATEST)

    for name, (_, flavor, inputs) in planned.items():
        if flavor == "recommender":
            continue
        batchers[name] = MicroBatcher(slots, name, max_size=config.batch_max_size,
                                      max_wait_ms=config.batch_max_wait_ms,
                                      on_batch=telemetry.batch)
        _add_predict_route(app, name, _row_model(name, inputs), batchers[name],
                           config.max_rows, log, secured)
        _add_example_route(app, name, slots, secured)

    @app.post("/v1/models/{name}/predict", tags=["models"], dependencies=secured,
              include_in_schema=False)
    def unknown_model(name: str) -> None:
        served = ", ".join(sorted(batchers)) or "none"
        raise HTTPException(404, f"model {name!r} is not served here; served: {served}")

    results = _results(project)

    @app.get("/v1/recommendations/{customer_id}", tags=["recommendations"],
             dependencies=secured, response_model=Recommendations)
    def recommendations(customer_id: str, k: int = 10) -> Recommendations:
        """The customer's current top-K from the latest `shipyard recommend`."""
        if not 1 <= k <= 100:
            raise HTTPException(422, "k must be between 1 and 100")
        model = config.recommender or "recommender"
        version, items = results.for_customer(model, customer_id)
        source = "results"
        if not items:
            served = slots.current.get(model)
            if not config.popularity_fallback or served is None or not served.is_recommender:
                raise HTTPException(404, f"no recommendations for customer {customer_id!r}")
            version, items, source = served.version, served.model.most_popular(k), "popularity"
        return Recommendations(customer_id=customer_id, model=model, version=version,
                               source=source, items=[Recommendation(product_id=p, score=s)
                                                     for p, s in items[:k]])

    app.include_router(pipeline_runs_router(project, secured))

    # The last added is the outermost: limits refuse before anything is counted or routed.
    app.add_middleware(_Observed, telemetry=telemetry)
    app.add_middleware(Limits, max_body_bytes=config.max_body_bytes,
                       max_concurrency=config.max_concurrency, max_queue=config.max_queue,
                       timeout_s=config.timeout_s,
                       on_reject=lambda reason: telemetry.rejected.labels(reason).inc())
    return app


def _results(project: Project) -> Any:
    from shipyard.batch.results import ResultsStore
    from shipyard.db import create_engine_for

    return ResultsStore(create_engine_for(project.results_url, purpose="results database"))


def _add_example_route(app: FastAPI, name: str, slots: ModelSlots, secured: list[Any]) -> None:
    """``GET /v1/models/{name}/example``: a valid request body, from the model's test rows."""

    def show() -> dict[str, Any]:
        served = slots.current.get(name)
        if served is None:
            raise HTTPException(503, f"model {name!r} is still loading; see /ready",
                                headers={"Retry-After": "1"})
        return {"rows": served.example}

    app.add_api_route(f"/v1/models/{name}/example", show, methods=["GET"], tags=["models"],
                      dependencies=secured, summary=f"A valid predict request body for {name}")


def _add_predict_route(app: FastAPI, name: str, row: type[BaseModel], batcher: MicroBatcher,
                       max_rows: int, log: PredictionLog | None, secured: list[Any]) -> None:
    body = create_model(f"{name.title()}Request", __config__=ConfigDict(extra="forbid"),
                        rows=(list[row], Field(min_length=1, max_length=max_rows)))

    async def predict(request: body) -> Response:  # type: ignore[valid-type]
        started = time.perf_counter()
        if name not in batcher.slots.current:
            raise HTTPException(503, f"model {name!r} is still loading; see /ready",
                                headers={"Retry-After": "1"})
        rows = [r.model_dump() for r in request.rows]
        done = await batcher.predict(rows)
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
                      summary=f"Predict with the production version of {name}")
