"""The Open Inference Protocol (KServe "V2") over REST, for the clients teams already have
(``tritonclient.http``, KServe's ``InferenceRESTClient``, MLServer's own).

Routes (each behind the API key, as every route but ``/health``):

* ``GET /v2`` server metadata; ``GET /v2/health/live``, ``GET /v2/health/ready``;
* ``GET /v2/models/{name}[/versions/{version}]`` model metadata (its input tensors are the
  signature's columns), ``…/ready`` model readiness;
* ``POST /v2/models/{name}[/versions/{version}]/infer``.

A request holds one tensor per input column (shape ``[N]`` or ``[N, 1]``, data flat or nested,
the column's datatype: ``FP64`` for a number column, ``INT64`` for an integer, ``BYTES`` for
text, ``BOOL``); its N rows are checked by the predict route's own body model and scored by
the same batcher, logged in the same prediction log (:meth:`ModelRoutes.validated`,
:meth:`ModelRoutes.score`). The answer has two output tensors, ``probability`` (FP64) and
``prediction`` (INT64, 1 where the probability is at least 0.5), or those the request names; a
regressor's one output is ``prediction`` (FP64, its value).
A floating-point NaN is a missing value, as in a data frame.

Only the production version is served: a path naming another version is a 404 that says
which is. Errors are the protocol's ``{"error": "..."}``: 400 for a request it refuses, 404 for
an unknown model or version, 401/429 for the key, 503 while loading. (The limits' own refusals,
413, 429, 503 and 504 before the request reaches a route, keep Shipyard's ``{"detail": ...}``.)
Binary tensor data (Triton's extension) is not taken: clients send JSON data
(``binary_data=False`` in ``tritonclient``).
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of the route
# functions below and needs them as objects.
import math
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError
from starlette.routing import request_response

from shipyard import __version__
from shipyard.errors import BadInput, NotFoundError, ShipyardError, StillLoading
from shipyard.names import Signature
from shipyard.serving.auth import ApiKeys
from shipyard.serving.model_routes import FastRoute, ModelRoutes
from shipyard.serving.protocol_errors import answered, protocol_route
from shipyard.serving.request_ids import request_id
from shipyard.serving.schemas import error_responses
from shipyard.serving.served import Served

__all__ = ["add_v2_routes"]

# Signature column types → the V2 datatype a model's metadata names, and those a request's
# tensor may have for that column (its values are then checked as the predict route does).
DATATYPES = {"double": "FP64", "float": "FP32", "long": "INT64", "integer": "INT32",
             "string": "BYTES", "boolean": "BOOL"}
_INTS = {f"{kind}{bits}" for kind in ("INT", "UINT") for bits in (8, 16, 32, 64)}
_FLOATS = {"FP16", "FP32", "FP64"}
_ACCEPTED = {"double": _FLOATS | _INTS, "float": _FLOATS | _INTS, "long": _INTS,
             "integer": _INTS, "string": {"BYTES"}, "boolean": {"BOOL"}}
OUTPUTS = {"probability": "FP64", "prediction": "INT64"}
REGRESSION_OUTPUTS = {"prediction": "FP64"}


def outputs_of(current: Served) -> dict[str, str]:
    """The output tensors a served model answers, by name, with their datatypes."""
    return REGRESSION_OUTPUTS if current.task == "regression" else OUTPUTS
_WHY = {400: "Refused by the protocol or the model's inputs (the error names the tensor).",
        401: "Missing or wrong API key.",
        404: "Model or version not served here (the error names the served ones).",
        429: "Too many wrong API keys from this address: retry after Retry-After seconds.",
        503: "The model is still loading or cannot answer (see /v2/health/ready)."}


class RequestInput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] | None = None
    data: list[Any]


class RequestOutput(BaseModel):
    name: str
    parameters: dict[str, Any] | None = None


class InferenceRequest(BaseModel):
    id: str | None = None
    parameters: dict[str, Any] | None = None
    inputs: list[RequestInput] = Field(min_length=1)
    outputs: list[RequestOutput] | None = None


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str | None = None
    id: str
    outputs: list[ResponseOutput]


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class Readiness(BaseModel):
    name: str | None = None
    ready: bool


class V2Error(BaseModel):
    error: str


def _error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(V2Error(error=message).model_dump_json(), status_code=status,
                    media_type="application/json", headers=headers)


_V2Route = protocol_route(_error)


def _flat(data: list[Any]) -> list[Any]:
    """Row-major nested tensor data flattened, as the protocol allows either."""
    if not any(isinstance(v, list) for v in data):
        return data
    return [x for v in data for x in (_flat(v) if isinstance(v, list) else [v])]


def rows_of(request: InferenceRequest, inputs: Signature) -> list[dict[str, Any]]:
    """The rows the request's tensors hold, one tensor per input column; raises
    :class:`BadInput` naming the tensor for one the signature has not, or of the wrong
    datatype or shape, or a column without a tensor."""
    kinds = {column: kind for column, kind, _ in inputs}
    tensors: dict[str, list[Any]] = {}
    for tensor in request.inputs:
        kind = kinds.get(tensor.name)
        if kind is None:
            raise BadInput(f"input tensor {tensor.name!r} is not an input of this model; its "
                           f"inputs: {', '.join(kinds)}")
        accepted = _ACCEPTED.get(kind, {"BYTES"})
        if tensor.datatype not in accepted:
            raise BadInput(f"input tensor {tensor.name!r} is {tensor.datatype}; this column "
                           f"takes {DATATYPES.get(kind, 'BYTES')} (or one of "
                           f"{', '.join(sorted(accepted))})")
        data = _flat(tensor.data)
        if (len(tensor.shape) not in (1, 2) or (len(tensor.shape) == 2 and tensor.shape[1] != 1)
                or tensor.shape[0] != len(data)):
            raise BadInput(f"input tensor {tensor.name!r} has shape {tensor.shape} and "
                           f"{len(data)} value(s): a column is shape [N] or [N, 1] with N "
                           f"values")
        if tensor.datatype in _FLOATS:  # NaN is a data frame's missing value
            data = [None if isinstance(v, float) and math.isnan(v) else v for v in data]
        if tensor.name in tensors:
            raise BadInput(f"input tensor {tensor.name!r} is given twice")
        tensors[tensor.name] = data
    missing = [column for column, _, required in inputs if required and column not in tensors]
    if missing:
        raise BadInput(f"no input tensor for column(s) {', '.join(missing)}: send one tensor "
                       f"per input ({', '.join(kinds)})")
    sizes = {len(data) for data in tensors.values()}
    if len(sizes) > 1:
        raise BadInput(f"input tensors have different numbers of rows: "
                       f"{ {name: len(data) for name, data in tensors.items()} }")
    count = sizes.pop()
    return [{name: data[i] for name, data in tensors.items()} for i in range(count)]


def add_v2_routes(app: FastAPI, routes: ModelRoutes, secured: list[Any],
                  keys: ApiKeys | None = None) -> None:
    """Add the V2 routes to ``app``, answering with ``routes``' models and batchers; with
    ``keys``, well-formed infer requests take the fast path (:class:`FastRoute`)."""
    slots = routes.slots

    def served(name: str, version: str | None = None) -> Served:
        """The model's served version, or the protocol's 404 (503 while loading)."""
        if name not in routes.requests:
            raise NotFoundError(f"model {name!r} is not served here; served: "
                                f"{', '.join(sorted(routes.requests)) or 'none'}")
        current = slots.current.get(name)
        if current is None:
            raise StillLoading(f"model {name!r} is still loading; see /v2/health/ready")
        if version is not None and version != str(current.version):
            raise NotFoundError(f"model {name!r} version {version!r} is not served here: this "
                                f"server serves its production version, {current.version}")
        return current

    def add(path: str, endpoint: Callable[..., Any], method: str = "GET", **kwargs: Any) -> None:
        app.router.add_api_route(
            path, endpoint, methods=[method], dependencies=secured, tags=["open inference (V2)"],
            responses={**{code: {"model": V2Error, "description": why}
                          for code, why in _WHY.items()}, **error_responses(413, 504)},
            route_class_override=_V2Route, **kwargs)

    def server() -> ServerMetadata:
        """Server metadata."""
        return ServerMetadata(name="shipyard", version=__version__, extensions=[])

    def live() -> Readiness:
        """The server is up (its key checked, as everywhere but /health)."""
        return Readiness(ready=True)

    def ready(response: Response) -> Readiness:
        """Every model this server is to serve is loaded and can answer (else 503)."""
        ok = slots.ready() and all(b.alive for b in routes.batchers.values())
        response.status_code = 200 if ok else 503
        return Readiness(ready=ok)

    def metadata(name: str, version: str | None = None) -> ModelMetadata:
        """A model's versions (the production one) and its input and output tensors."""
        current = served(name, version)
        return ModelMetadata(
            name=name, versions=[str(current.version)],
            platform=current.served_by.split(" ")[0],
            inputs=[TensorMetadata(name=column, datatype=DATATYPES.get(kind, "BYTES"),
                                   shape=[-1]) for column, kind, _ in current.inputs],
            outputs=[TensorMetadata(name=n, datatype=t, shape=[-1])
                     for n, t in outputs_of(current).items()])

    def model_ready(name: str, version: str | None = None) -> Readiness:
        """The model is loaded (404 if not served here, 503 while loading)."""
        served(name, version)
        return Readiness(name=name, ready=True)

    async def answer(request: InferenceRequest, scope: MutableMapping[str, Any],
                     started: float) -> Response:
        params = scope.get("path_params", {})
        name, version = params["name"], params.get("version")
        try:
            current = served(name, version)
            outputs = outputs_of(current)
            wanted = [o.name for o in request.outputs or []] or list(outputs)
            unknown = [o for o in wanted if o not in outputs]
            if unknown:
                raise BadInput(f"output(s) {', '.join(unknown)} not answered by this model; "
                               f"its outputs: {', '.join(outputs)}")
            rows = routes.validated(name, rows_of(request, current.inputs))
            done = await routes.score(name, rows, scope, started)
        except (ShipyardError, ValidationError) as error:
            return answered(error, _error)
        values = done.probabilities.tolist()
        data = ({"prediction": values} if done.task == "regression" else
                {"probability": values, "prediction": [int(p >= 0.5) for p in values]})
        body = InferenceResponse(
            model_name=name, model_version=str(done.version),
            id=request.id or request_id(scope),
            outputs=[ResponseOutput(name=o, shape=[len(rows)], datatype=outputs[o],
                                    data=data[o]) for o in wanted])
        return Response(body.model_dump_json(), media_type="application/json")

    async def infer(name: str, request: InferenceRequest, http: Request) -> Response:
        """Predict with the production version: one tensor per input column."""
        return await answer(request, http.scope, time.perf_counter())

    async def infer_version(name: str, version: str, request: InferenceRequest,
                            http: Request) -> Response:
        """Predict with the version named, if it is the production version (else 404)."""
        return await answer(request, http.scope, time.perf_counter())

    add("/v2", server, response_model=ServerMetadata, summary="Server metadata")
    add("/v2/health/live", live, response_model=Readiness, summary="Server live")
    add("/v2/health/ready", ready, response_model=Readiness, summary="Server ready")
    for prefix in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        add(prefix, metadata, response_model=ModelMetadata, summary="Model metadata")
        add(f"{prefix}/ready", model_ready, response_model=Readiness, summary="Model ready")
        add(f"{prefix}/infer", infer_version if "{version}" in prefix else infer, "POST",
            response_model=InferenceResponse, summary="Inference")
        infer_route = app.router.routes[-1]
        assert isinstance(infer_route, APIRoute)
        if keys is not None:
            infer_route.app = request_response(
                FastRoute(infer_route.app, InferenceRequest, keys, answer))
        infer_route.app = _JsonByDefault(infer_route.app)
    app.openapi_schema = None


class _JsonByDefault:
    """``tritonclient`` sends its JSON bodies without a ``Content-Type``: the protocol's body
    is JSON, so a request that names no type is read as JSON (FastAPI would read it as bytes,
    and the fast path would pass it by)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        headers = scope["headers"]
        if not any(name == b"content-type" for name, _ in headers):
            scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)
