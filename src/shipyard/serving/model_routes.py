"""The routes of the served classifiers and regressors: ``POST /v1/models/{name}/predict`` and
``GET /v1/models/{name}/example`` of each, plus the 404 of a model not served here.

The predict body's schema is made from the model's MLflow signature (:func:`row_model`), so
a wrong or missing field is a 422 that names it, and the OpenAPI document shows the real
columns. A model still loading, or one whose batcher stopped, is a 503 (see /ready).

:class:`ModelRoutes` keeps the routes in step with the served versions: a model that gets its
first production version after the server started gets its routes then, and a version whose
inputs or learnt categories differ from the route's gets the route rebuilt, before any request
can reach it. (Routes are first built from the signature alone, before the models load; the
categories come with the loaded model.)
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of the route
# functions built below (a body model made at run time) and needs them as objects.
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model
from starlette.routing import request_response

from shipyard.config.schema import ServingConfig
from shipyard.errors import NotFoundError, NotReady, StillLoading
from shipyard.names import Signature
from shipyard.serving.auth import ApiKeys, client_address
from shipyard.serving.batching import BatcherStopped, MicroBatcher, Prediction
from shipyard.serving.predlog import PredictionLog
from shipyard.serving.request_ids import request_id
from shipyard.serving.schemas import SECURED, Predictions, error_responses, row_model
from shipyard.serving.served import ModelSlots, Served

__all__ = ["FastRoute", "ModelRoutes"]

Inputs = Signature
Body = tuple[Inputs, dict[str, tuple[Any, ...]], dict[str, tuple[float, float]]]


def _still_loading(name: str) -> StillLoading:
    return StillLoading(f"model {name!r} is still loading; see /ready")


class ModelRoutes:
    """The predict and example routes of each served classifier, and their batchers."""

    def __init__(self, app: FastAPI, slots: ModelSlots, config: ServingConfig,
                 log: PredictionLog | None, secured: list[Any],
                 on_batch: Callable[[str, int], None] | None = None,
                 keys: ApiKeys | None = None) -> None:
        """With ``keys``, well-formed predict requests take the fast path (:class:`FastRoute`)."""
        self.app = app
        self.slots = slots
        self.config = config
        self.log = log
        self.secured = secured
        self.on_batch = on_batch
        self.keys = keys
        self.batchers: dict[str, MicroBatcher] = {}
        self.started = False
        self._bodies: dict[str, Body] = {}  # what each predict route's body was made from
        self.requests: dict[str, type[BaseModel]] = {}
        """Each predict route's body model, ``{"rows": [...]}``: what every protocol's rows
        are checked against (:meth:`validated`)."""
        # Added first and kept last: the served models' routes are placed before it.
        self._fallback = self._add_unknown_model_route()

    def add(self, name: str, inputs: Inputs,
            categories: dict[str, tuple[Any, ...]] | None = None,
            ranges: dict[str, tuple[float, float]] | None = None) -> None:
        """Give ``name`` its routes, its predict body made from ``inputs``, the learnt
        ``categories`` and the training ``ranges`` of numeric columns; rebuild the predict
        route when they differ from its current body's. Called on the event loop (or before
        it runs), where requests are routed, so no request sees a route half-placed."""
        body = (inputs, categories or {}, ranges or {})
        if self._bodies.get(name) == body:
            return
        if name not in self.batchers:
            self.batchers[name] = MicroBatcher(
                self.slots, name, max_size=self.config.batch_max_size,
                max_wait_ms=self.config.batch_max_wait_ms, on_batch=self.on_batch)
            if self.started:
                self.batchers[name].start()
            self._place(self._example_route(name))
        row = row_model(name, inputs, categories, ranges, margin=self.config.input_margin)
        self._place(self._predict_route(name, row))
        self._bodies[name] = body
        self.app.openapi_schema = None  # the document is made again at its next request

    def validated(self, name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``rows`` checked as the predict route checks them (types, learnt categories,
        training ranges, ``serving.max_rows``), so the other protocols (:mod:`~shipyard.serving.v2`,
        :mod:`~shipyard.serving.invocations`) refuse exactly what it refuses. Raises pydantic's
        ``ValidationError``, or :class:`NotFoundError` for a model without routes."""
        body = self.requests.get(name)
        if body is None:
            raise NotFoundError(f"model {name!r} is not served here; served: "
                                f"{', '.join(sorted(self.requests)) or 'none'}")
        checked = body.model_validate({"rows": rows})
        return [r.model_dump() for r in checked.rows]  # type: ignore[attr-defined]

    async def score(self, name: str, rows: list[dict[str, Any]],
                    scope: MutableMapping[str, Any], started: float) -> Prediction:
        """Validated ``rows`` scored by ``name``'s batcher with other requests' rows, and
        logged (when there is a log) under the request's id with the signature the rows were
        validated against: what every protocol's predict route answers from."""
        batcher = self.batchers[name]
        if name not in batcher.slots.current:
            raise _still_loading(name)
        try:
            done = await batcher.predict(rows)
        except BatcherStopped as error:
            raise NotReady(f"model {name!r} cannot answer ({error}); restart the "
                           f"server") from error
        if self.log is not None:
            self.log.record(name, done.version, self._bodies[name][0], rows,
                            done.probabilities.tolist(), (time.perf_counter() - started) * 1000,
                            request_id=request_id(scope), regression=done.task == "regression")
        return done

    def follow(self, served: Served) -> None:
        """The slots' ``on_load``: a classifier about to be served gets (fitting) routes."""
        if not served.is_recommender:
            self.add(served.name, served.inputs, served.categories, served.ranges)

    def start(self) -> None:
        """Start the batchers (on the event loop); later ones start as they are added."""
        self.started = True
        for batcher in self.batchers.values():
            batcher.start()

    async def stop(self) -> None:
        for batcher in self.batchers.values():
            await batcher.stop()

    def _place(self, route: APIRoute) -> None:
        """Put ``route`` where the one of the same path and methods was, else just before
        the 404 of unknown models (routes match in order)."""
        routes = self.app.router.routes
        for i, old in enumerate(routes):
            if (isinstance(old, APIRoute) and old is not route and old.path == route.path
                    and old.methods == route.methods):
                routes[i] = route
                return
        routes.insert(routes.index(self._fallback), route)

    def _added(self) -> APIRoute:
        """The route ``add_api_route`` just appended, taken off the end to be placed."""
        route = self.app.router.routes.pop()
        assert isinstance(route, APIRoute)
        return route

    def _example_route(self, name: str) -> APIRoute:
        """``GET /v1/models/{name}/example``: a valid request body, from the model's test rows."""
        slots = self.slots

        def show() -> dict[str, Any]:
            served = slots.current.get(name)
            if served is None:
                raise _still_loading(name)
            return {"rows": served.example}

        self.app.add_api_route(f"/v1/models/{name}/example", show, methods=["GET"],
                               tags=["models"], dependencies=self.secured,
                               responses=error_responses(*SECURED),
                               summary=f"A valid predict request body for {name}")
        return self._added()

    def _predict_route(self, name: str, row: type[BaseModel]) -> APIRoute:
        """``POST /v1/models/{name}/predict``: up to ``max_rows`` rows, batched with other
        requests by the model's batcher, each answer logged (when there is a log) with the
        request's id (:meth:`score`).

        FastAPI documents the route and answers whatever is unusual; a well-formed request
        with an accepted key takes the fast path (:class:`FastRoute`)."""
        body = create_model(f"{name.title()}Request", __config__=ConfigDict(extra="forbid"),
                            rows=(list[row], Field(min_length=1,  # type: ignore[valid-type]
                                                   max_length=self.config.max_rows)))

        async def answer(parsed: Any, scope: MutableMapping[str, Any],
                         started: float) -> Response:
            rows = [r.model_dump() for r in parsed.rows]
            done = await self.score(name, rows, scope, started)
            values = done.probabilities.tolist()
            # Built as JSON directly: the response model documents it, re-validating it per
            # request would cost a tenth of the request.
            answers = ([{"prediction": v} for v in values] if done.task == "regression" else
                       [{"prediction": int(p >= 0.5), "probability": p} for p in values])
            return Response(json.dumps({"model": name, "version": done.version,
                                        "predictions": answers}), media_type="application/json")

        async def predict(request: body, http: Request) -> Response:  # type: ignore[valid-type]
            started = time.perf_counter()
            return await answer(request, http.scope, started)

        self.app.add_api_route(f"/v1/models/{name}/predict", predict, methods=["POST"],
                               response_model=Predictions, dependencies=self.secured,
                               tags=["models"], responses=error_responses(*SECURED, 400, 413),
                               summary=f"Predict with the production version of {name}")
        route = self._added()
        self.requests[name] = body
        if self.keys is not None:
            route.app = request_response(FastRoute(route.app, body, self.keys, answer))
        return route

    def _add_unknown_model_route(self) -> APIRoute:
        """``POST /v1/models/{name}/predict`` of any other name: a 404 naming the served ones
        (not in the OpenAPI document). A watched model without a production version yet is
        told apart: promoting one is the fix, and the server takes it up by itself."""
        batchers, slots = self.batchers, self.slots

        def unknown_model(name: str) -> None:
            if name in slots.names and name not in slots.current:
                raise NotFoundError(
                    f"model {name!r} has no production version yet; promote one with "
                    f"'shipyard models promote {name} VERSION --reason ...' and this server "
                    f"takes it up by itself (it checks every {self.config.poll_s:g} s)")
            raise NotFoundError(f"model {name!r} is not served here; served: "
                                f"{', '.join(sorted(batchers)) or 'none'}")

        self.app.add_api_route("/v1/models/{name}/predict", unknown_model, methods=["POST"],
                               tags=["models"], dependencies=self.secured,
                               include_in_schema=False)
        route = self.app.router.routes[-1]
        assert isinstance(route, APIRoute)
        return route


class FastRoute:
    """A predict route's fast path: FastAPI's dependency machinery costs about a third of a
    one-row request, so a request that is plainly well-formed — an accepted key, a JSON body
    that the route's body model takes — is checked here with the same key check and the same
    pydantic model (validated from ``json.loads`` as FastAPI does) and answered directly by
    ``answer(parsed body, scope, started)``, as the route's own function answers it. The V2
    protocol's infer route (:mod:`~shipyard.serving.v2`) takes it too.

    Anything else (no or a wrong key, another content type, a body that does not parse or
    validate) is handed, its body replayed, to the route's FastAPI handler, which answers it
    exactly as before: the 401, 422 and 400 answers and their order are FastAPI's own.
    """

    def __init__(self, fallback: Callable[..., Any], body: type[BaseModel], keys: ApiKeys,
                 answer: Callable[[Any, MutableMapping[str, Any], float],
                                  Awaitable[Response]]) -> None:
        self.fallback = fallback
        self.adapter: TypeAdapter[Any] = TypeAdapter(body)
        self.keys = keys
        self.answer = answer

    async def __call__(self, request: Request) -> Any:
        started = time.perf_counter()
        try:
            raw = await request.body()
        except Exception:  # noqa: BLE001 - a disconnect, or the limits refused the body
            return _Replayed(self.fallback, {"type": "http.disconnect"})
        replay = _Replayed(self.fallback,
                           {"type": "http.request", "body": raw, "more_body": False})
        if (request.headers.get("content-type") != "application/json"
                or not self.keys.accepts_headers(request.headers, client_address(request))):
            return replay
        try:
            parsed = self.adapter.validate_python(json.loads(raw), from_attributes=True)
        except Exception:  # noqa: BLE001 - FastAPI answers it (422 or 400) as it always did
            return replay
        return await self.answer(parsed, request.scope, started)


class _Replayed:
    """An ASGI answer that runs ``app`` on the request, its first message replayed (the
    body the fast path already read), the rest from the real channel."""

    def __init__(self, app: Callable[..., Any], first: dict[str, Any]) -> None:
        self.app = app
        self.first: dict[str, Any] | None = first

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                      send: Callable[..., Any]) -> None:
        async def replayed() -> Any:
            if self.first is not None:
                first, self.first = self.first, None
                return first
            return await receive()

        await self.app(scope, replayed, send)
