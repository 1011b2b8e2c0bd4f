"""The HTTP API: predictions of served models, recommendations, pipeline triggers, health.

Routes are built from what the registry says when the app is made: each served classifier
gets ``POST /v1/models/{name}/predict`` whose body schema comes from the model's MLflow
signature, so a wrong or missing field is a 422 that names it, and the OpenAPI document shows
the real columns.

Fields are strict: an integer column takes JSON integers within its type's range only (not
``true``, ``"3"`` or ``3.5``), a number column finite numbers only (not ``NaN``, ``Infinity``
or ``1e309``), a text column valid Unicode only (not a lone surrogate such as ``"\ud800"``,
which no table, log or model can hold). Whatever a request holds, the answer is a status the
OpenAPI document lists for its route, and the 422 body is plain JSON even when it quotes a
non-finite number or a broken string back.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of the route
# functions built below (a body model made at run time) and needs them as objects.
import asyncio
import gc
import json
import math
import time
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model

from shipyard.config.schema import ServingConfig
from shipyard.project import Project
from shipyard.serving.auth import ApiKeys
from shipyard.serving.batching import BatcherStopped, MicroBatcher
from shipyard.serving.limits import REFUSED, Limits
from shipyard.serving.predlog import PredictionLog
from shipyard.serving.runs import pipeline_runs_router
from shipyard.serving.served import ModelSlots
from shipyard.serving.telemetry import Telemetry

__all__ = ["create_app"]

def _unicode(text: str) -> str:
    """Refuse what cannot be written as UTF-8 (lone surrogates): pandas, Arrow and the
    prediction log all fail on it, far from the request that brought it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"text must be valid Unicode; character {error.start} is a lone "
                         f"surrogate") from None
    return text


def _integral(value: Any) -> Any:
    """JSON has one number type: ``3.0`` is the integer 3 (as in JSON Schema), while
    ``true``, ``"3"`` and ``3.5`` are no integers at all (refused by the strict field)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_FINITE = Field(strict=True, allow_inf_nan=False)
# MLflow column types → strict request field types. A 64-bit column takes the integers JSON
# carries exactly (|n| < 2**53): the OpenAPI document states bounds as floats, and a wider
# bound would read as 2**63, one more than the column holds.
_TYPES: dict[str, Any] = {
    "double": Annotated[float, _FINITE], "float": Annotated[float, _FINITE],
    "long": Annotated[int, Field(strict=True, ge=-(2**53 - 1), le=2**53 - 1),
                      BeforeValidator(_integral)],
    "integer": Annotated[int, Field(strict=True, ge=-2**31, le=2**31 - 1),
                         BeforeValidator(_integral)],
    "string": Annotated[str, Field(strict=True), AfterValidator(_unicode)],
    "boolean": Annotated[bool, Field(strict=True)],
}


def _row_model(name: str, inputs: list[tuple[str, str, bool]]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for column, kind, required in inputs:
        python = _TYPES.get(kind, _TYPES["string"])
        fields[column] = (python, ...) if required else (python | None, None)
    return create_model(f"{name.title()}Row", __config__=ConfigDict(extra="forbid"), **fields)


class Error(BaseModel):
    detail: str


_WHY = {400: "Body not parseable (nested too deep, or a number of over 4,300 digits).",
        401: "Missing or wrong API key.", 404: "Not found (the detail says what).",
        413: "Request body over serving.max_body_bytes.",
        503: "Overloaded (retry after Retry-After seconds), or the model is not loaded or "
             "cannot answer (see /ready).",
        504: "No answer within serving.timeout_s, waiting included."}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route can answer."""
    return {code: {"model": Error, "description": _WHY[code]} for code in codes}


# Every route but /health is behind the key and the limits (a body-less route cannot be 413).
_SECURED = (401, 503, 504)


def _json_safe(value: Any) -> Any:
    """``value`` with what JSON (or UTF-8) cannot carry spelt out: the 422 body quotes the
    input back, and a NaN or a lone surrogate there would turn the 422 into a 500."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):  # beyond ~4,300 digits Python will not even print it
        return value if value.bit_length() <= 1024 else f"<integer of {value.bit_length()} bits>"
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_json_safe(str(k)): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return _json_safe(str(value))


async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
    errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type", "input", "ctx")}
              for e in error.errors()]
    for e in errors:  # ctx may hold the exception a validator raised: keep its message
        if "ctx" in e:
            e["ctx"] = {k: v if isinstance(v, int | float | str | bool) else str(v)
                        for k, v in e["ctx"].items()}
    return JSONResponse({"detail": _json_safe(jsonable_encoder(errors))}, status_code=422)


class Recommendation(BaseModel):
    product_id: str
    score: float


class Recommendations(BaseModel):
    customer_id: str
    model: str
    version: int | None
    source: str = Field(description="results (the batch set) or popularity (fallback)")
    items: list[Recommendation]


class Ready(BaseModel):
    ready: bool
    models: dict[str, int] = Field(description="Version loaded for each served model.")
    detail: str | None = Field(default=None, description="Why not ready, when not.")


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
        status = 500  # what ServerErrorMiddleware answers when the app raises

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except asyncio.CancelledError:
            raise  # timed out (the limits answer and count it) or the server is stopping
        except Exception:
            self._count(scope, status, started)
            raise
        self._count(scope, status, started)

    def _count(self, scope: dict[str, Any], status: int, started: float) -> None:
        if scope.get(REFUSED):  # the limits answered, not the route (see telemetry.py)
            return
        route = getattr(scope.get("route"), "path", "unmatched")
        self.telemetry.requests.labels(route, str(status)).inc()
        self.telemetry.latency.labels(route).observe(time.perf_counter() - started)


def create_app(project: Project, keys: ApiKeys, config: ServingConfig | None = None) -> FastAPI:
    """The ASGI app for ``project``'s production models (they load once it starts)."""
    config = config or project.config.serving
    names = config.models if config.models is not None else list(project.config.models)
    telemetry = Telemetry()
    slots = ModelSlots(project, names, on_load=telemetry.loaded)
    planned = slots.plan()
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
                  description="Predictions and recommendations of the production models.",
                  exception_handlers={RequestValidationError: _invalid})
    app.state.slots = slots
    app.state.telemetry = telemetry
    app.state.batchers = batchers
    secured = [Depends(_auth(keys))]

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        """The process is up (no key needed)."""
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"], dependencies=secured, response_model=Ready,
             response_model_exclude_none=True,
             responses={**_errors(*_SECURED), 503: {
                 "model": Ready | Error,
                 "description": "A model is not loaded or cannot answer, or overloaded."}})
    def ready(response: Response) -> Ready:
        """Every served model is loaded and can answer."""
        loaded = {n: s.version for n, s in slots.current.items()}
        waiting = sorted(set(slots.planned) - set(loaded))
        stopped = sorted(n for n, b in batchers.items() if not b.alive)
        problems = ([f"loading: {', '.join(waiting)}"] if waiting else []) + (
            [f"not answering (restart the server): {', '.join(stopped)}"] if stopped else [])
        if problems:
            response.status_code = 503
        return Ready(ready=not problems, models=loaded, detail="; ".join(problems) or None)

    @app.get("/metrics", tags=["operations"], dependencies=secured,
             response_class=PlainTextResponse, responses={
                 200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                       "description": "Prometheus text exposition format."},
                 **_errors(*_SECURED)})
    def metrics() -> Response:
        """Prometheus metrics: requests, latency, batch sizes, model versions, refusals."""
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
             dependencies=secured, response_model=Recommendations,
             responses=_errors(*_SECURED, 404))
    def recommendations(customer_id: str,
                        k: Annotated[int, Query(ge=1, le=100)] = 10
                        ) -> Recommendations:
        """The customer's current top-K from the latest `shipyard recommend`."""
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
                      dependencies=secured, responses=_errors(*_SECURED),
                      summary=f"A valid predict request body for {name}")


def _add_predict_route(app: FastAPI, name: str, row: type[BaseModel], batcher: MicroBatcher,
                       max_rows: int, log: PredictionLog | None, secured: list[Any]) -> None:
    # The request model is built at run time from the model's signature, which mypy cannot follow.
    body = create_model(f"{name.title()}Request", __config__=ConfigDict(extra="forbid"),
                        rows=(list[row], Field(min_length=1, max_length=max_rows)))  # type: ignore[valid-type]

    async def predict(request: body) -> Response:  # type: ignore[valid-type]
        started = time.perf_counter()
        if name not in batcher.slots.current:
            raise HTTPException(503, f"model {name!r} is still loading; see /ready",
                                headers={"Retry-After": "1"})
        rows = [r.model_dump() for r in request.rows]  # type: ignore[attr-defined]
        try:
            done = await batcher.predict(rows)
        except BatcherStopped as error:
            raise HTTPException(503, f"model {name!r} cannot answer ({error}); restart the "
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
                      responses=_errors(*_SECURED, 400, 413),
                      summary=f"Predict with the production version of {name}")
