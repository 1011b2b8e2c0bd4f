"""How the server answers an error: every answer a status the OpenAPI document lists, with a
plain JSON body ``{"detail": ...}``.

Routes call the library and let its errors through; one handler maps any
:class:`~shipyard.errors.ShipyardError` to its ``http_status`` (and ``response_headers()``), so a
route never builds an HTTP error for a library error itself. A request that does not match
its schema is a 422 whose body is plain JSON even when it quotes a non-finite number or a
broken string back.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from shipyard.errors import ShipyardError
from shipyard.redact import redact_text

__all__ = ["HANDLERS", "invalid_request", "shipyard_error"]


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


async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
    errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type", "input", "ctx")}
              for e in error.errors()]
    for e in errors:  # ctx may hold the exception a validator raised: keep its message
        if "ctx" in e:
            e["ctx"] = {k: v if isinstance(v, int | float | str | bool) else str(v)
                        for k, v in e["ctx"].items()}
    return JSONResponse({"detail": _json_safe(jsonable_encoder(errors))}, status_code=422)


async def shipyard_error(_: Request, error: Exception) -> JSONResponse:
    """A library error as its HTTP status; the message is for a person (secrets masked)."""
    assert isinstance(error, ShipyardError)
    return JSONResponse({"detail": redact_text(str(error))}, status_code=error.http_status,
                        headers=error.response_headers() or None)


HANDLERS: dict[int | type[Exception], Any] = {RequestValidationError: invalid_request,
                                              ShipyardError: shipyard_error}
"""The app's exception handlers (``FastAPI(exception_handlers=HANDLERS)``)."""
