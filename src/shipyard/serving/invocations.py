"""MLflow's scoring protocol, so a team replaces ``mlflow models serve`` without touching a
client: ``POST /invocations`` and ``GET /ping``.

``/invocations`` takes a JSON object with exactly one of MLflow's input fields (and an
optional ``params``, which a scikit-learn model takes none of):

* ``dataframe_split``: ``{"columns": [...], "data": [[...], ...]}`` (an ``index`` is ignored),
  as ``DataFrame.to_dict(orient="split")`` makes it;
* ``dataframe_records``: ``[{column: value, ...}, ...]``;
* ``instances`` or ``inputs``: rows as records, columns as ``{column: [values]}``, or rows as
  lists in the signature's column order.

A NaN (pandas' missing value, which MLflow's client sends as ``NaN``) is a missing value. The
rows are checked by the predict route's own body model and scored by the same batcher into the
same prediction log (:meth:`ModelRoutes.validated`, :meth:`ModelRoutes.score`); the answer is
MLflow's ``{"predictions": [...]}`` with what the scikit-learn flavour's ``predict`` answers, the
class (0 or 1) of each row. Errors are MLflow's ``{"error_code": ..., "message": ...}``.

The model answering is ``serving.invocations_model`` when set, else the one classifier the
server serves; with several and no setting, ``/invocations`` is a 400 that names the setting.
``/ping`` is 200 once that model is loaded (503 before); like ``/health``, and like
MLflow's, it needs no key: load balancers probe it bare.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of the route
# functions below and needs them as objects.
import json
import math
import time
from typing import Any

from fastapi import FastAPI, Request, Response
from pydantic import ValidationError

from shipyard.config.schema import ServingConfig
from shipyard.errors import BadInput, NotFoundError, ShipyardError, StillLoading
from shipyard.serving.model_routes import ModelRoutes
from shipyard.serving.protocol_errors import answered, protocol_route
from shipyard.serving.schemas import error_responses

__all__ = ["add_invocations_routes"]

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
# MLflow's error codes (mlflow.protos.databricks), by the HTTP status Shipyard answers.
_CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 404: "RESOURCE_DOES_NOT_EXIST",
          413: "REQUEST_LIMIT_EXCEEDED", 415: "BAD_REQUEST", 429: "REQUEST_LIMIT_EXCEEDED",
          503: "TEMPORARILY_UNAVAILABLE"}
_ERROR_SCHEMA = {"type": "object", "required": ["error_code", "message"], "properties": {
    "error_code": {"type": "string"}, "message": {"type": "string"}}}
_ROWS = {"oneOf": [
    {"type": "array", "items": {"type": "object"}, "description": "rows as records"},
    {"type": "array", "items": {"type": "array"}, "description": "rows in column order"},
    {"type": "object", "additionalProperties": {"type": "array"},
     "description": "columns: {column: [values]}"}]}
_INPUTS = {
    "dataframe_split": {"type": "object", "required": ["columns", "data"],
                        "properties": {"columns": {"type": "array", "items": {"type": "string"}},
                                       "data": {"type": "array", "items": {"type": "array"}},
                                       "index": {"type": "array"}}},
    "dataframe_records": {"type": "array", "items": {"type": "object"}},
    "instances": _ROWS, "inputs": _ROWS}
_REQUEST = {"description": "Exactly one of the four input fields (and optionally params).",
            "oneOf": [{"type": "object", "required": [field], "additionalProperties": False,
                       "properties": {field: schema, "params": {"type": "object"}}}
                      for field, schema in _INPUTS.items()]}


def _error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps({"error_code": _CODES.get(status, "INTERNAL_ERROR"),
                                "message": message}), status_code=status,
                    media_type="application/json", headers=headers)


_MlflowRoute = protocol_route(_error)


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of MLflow-shaped errors."""
    return {code: {"content": {"application/json": {"schema": _ERROR_SCHEMA}},
                   "description": _CODES[code]} for code in codes}


def _missing(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _records(rows: Any, columns: list[str], field: str) -> list[dict[str, Any]]:
    """Records, column lists or positional rows (``columns`` their order) as records."""
    if isinstance(rows, dict):
        lengths = {len(v) if isinstance(v, list) else -1 for v in rows.values()}
        if -1 in lengths or len(lengths) > 1:
            raise BadInput(f"{field}: as columns, each value is a list of the same length")
        count = lengths.pop() if lengths else 0
        return [{c: _missing(v[i]) for c, v in rows.items()} for i in range(count)]
    if not isinstance(rows, list):
        raise BadInput(f"{field} must be a list of rows or an object of columns")
    out = []
    for i, row in enumerate(rows):
        if isinstance(row, dict):
            out.append({str(c): _missing(v) for c, v in row.items()})
        elif isinstance(row, list):
            if len(row) != len(columns):
                raise BadInput(f"{field}: row {i} has {len(row)} value(s) for {len(columns)} "
                               f"column(s) ({', '.join(columns)})")
            out.append({c: _missing(v) for c, v in zip(columns, row, strict=True)})
        else:
            raise BadInput(f"{field}: row {i} is neither an object nor a list")
    return out


def rows_of(body: Any, columns: list[str]) -> list[dict[str, Any]]:
    """The rows of a scoring request in any of MLflow's four formats (``columns``: the
    signature's, the order of rows given as lists)."""
    given = [f for f in FORMATS if isinstance(body, dict) and f in body]
    if len(given) != 1 or set(body) - {*FORMATS, "params"}:
        raise BadInput(f"the body must be a JSON object with exactly one of "
                       f"{', '.join(FORMATS)} (and optionally params); got "
                       f"{', '.join(body) if isinstance(body, dict) else type(body).__name__}")
    field = given[0]
    if field == "dataframe_split":
        split = body[field]
        if not isinstance(split, dict) or not isinstance(split.get("columns"), list):
            raise BadInput("dataframe_split must be {\"columns\": [...], \"data\": [[...]]}")
        return _records(split.get("data"), [str(c) for c in split["columns"]], field)
    if field == "dataframe_records" and not isinstance(body[field], list):
        raise BadInput("dataframe_records must be a list of records")
    return _records(body[field], columns, field)


def add_invocations_routes(app: FastAPI, routes: ModelRoutes, config: ServingConfig,
                           secured: list[Any], where: str) -> None:
    """Add ``/invocations`` and ``/ping`` to ``app``, answering with ``routes``' models
    (``where``: the project's shipyard.yaml, named by the errors about the setting)."""

    def target() -> str:
        """The model /invocations answers with (see the module's docstring)."""
        named, served = config.invocations_model, sorted(routes.requests)
        if named is not None:
            if named not in served:
                raise NotFoundError(f"serving.invocations_model in {where} names {named!r}, "
                                    f"which this server does not serve as a classifier; "
                                    f"served: {', '.join(served) or 'none'}")
            return named
        if len(served) == 1:
            return served[0]
        if not served:
            raise NotFoundError("no classifier is served here for /invocations to answer "
                                "with; see /ready")
        raise BadInput(f"this server serves {len(served)} classifiers ({', '.join(served)}) "
                       f"and /invocations answers with one: set serving.invocations_model "
                       f"in {where} to its name")

    async def invocations(http: Request) -> Response:
        """MLflow's scoring protocol: `dataframe_split`, `dataframe_records`, `instances` or
        `inputs` → `{"predictions": [class, ...]}`."""
        started = time.perf_counter()
        if http.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _error("this server takes application/json bodies (dataframe_split, "
                          "dataframe_records, instances or inputs); CSV is not taken", 415)
        try:
            body = json.loads(await http.body())
        except ValueError as error:
            return _error(f"the body is not valid JSON: {error}", 400)
        except RecursionError:
            return _error("the body is nested too deep to parse", 400)
        try:
            name = target()
            current = routes.slots.current.get(name)
            if current is None:
                raise StillLoading(f"model {name!r} is still loading; see /ping")
            rows = rows_of(body, [column for column, _, _ in current.inputs])
            if not rows:
                raise BadInput("no rows to predict")
            done = await routes.score(name, routes.validated(name, rows), http.scope, started)
        except (ShipyardError, ValidationError) as error:  # pydantic's: a row refused
            return answered(error, _error)
        values = done.probabilities.tolist()
        return Response(json.dumps({"predictions": values if done.task == "regression" else [
            int(p >= 0.5) for p in values]}), media_type="application/json")

    def ping() -> Response:
        """200 once the model /invocations answers with is loaded (no key needed)."""
        try:
            name = target()
            if name not in routes.slots.current:
                raise StillLoading(f"model {name!r} is still loading")
        except ShipyardError as error:
            return answered(error, _error)
        return Response('{"status": "ok"}', media_type="application/json")

    app.router.add_api_route(
        "/invocations", invocations, methods=["POST"], dependencies=secured,
        tags=["mlflow scoring"], route_class_override=_MlflowRoute,
        summary="Predict, MLflow's scoring protocol",
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": _REQUEST}}}},
        responses={200: {"content": {"application/json": {"schema": {
            "type": "object", "properties": {"predictions": {
                "type": "array", "items": {"type": "integer"}}}}}}, "description": "Classes"},
            **_errors(400, 401, 404, 415, 429, 503), **error_responses(413, 504)})
    app.router.add_api_route("/ping", ping, methods=["GET"], tags=["mlflow scoring"],
                             route_class_override=_MlflowRoute, summary="Model loaded",
                             responses={200: {"content": {"application/json": {"schema": {
                                 "type": "object"}}}, "description": "Loaded"},
                                 **_errors(400, 404, 503), **error_responses(504)})
    app.openapi_schema = None
