"""Errors in a serving protocol's own shape: the Open Inference Protocol answers
``{"error": ...}``, MLflow's scoring protocol ``{"error_code": ..., "message": ...}``, where
Shipyard's routes answer ``{"detail": ...}`` (:mod:`~shipyard.serving.handlers`).

:func:`protocol_route` makes the route class of a protocol's routes: whatever they raise, the
key's refusal included (raised by their dependencies), is answered by the protocol's
``render(message, status, headers)``, with Shipyard's status for the error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from shipyard.errors import ShipyardError
from shipyard.redact import redact_text

__all__ = ["Render", "answered", "protocol_route", "said"]

Render = Callable[[str, int, dict[str, str] | None], Response]
"""A protocol's error answer: (message, HTTP status, headers) → response."""


def said(errors: list[Any]) -> str:
    """Pydantic's errors as one line: where (``rows.3.sex`` → ``row 3, sex``) and what."""
    parts = []
    for e in errors:
        where = [str(p) for p in e.get("loc", ()) if p != "body"]
        if len(where) >= 2 and where[0] == "rows":
            where = [f"row {where[1]}", *where[2:]]
        parts.append(f"{', '.join(where) or 'body'}: {e.get('msg', e)}")
    return "; ".join(parts)


def answered(error: Exception, render: Render) -> Response:
    """The protocol's answer to ``error``: a library error or FastAPI's with its status, a
    request its schema (or a model's input rows) refuses with 400; anything else is raised
    again."""
    if isinstance(error, ShipyardError):
        return render(redact_text(str(error)), error.http_status,
                      error.response_headers() or None)
    if isinstance(error, RequestValidationError | ValidationError):
        return render(redact_text(said(list(error.errors()))), 400, None)
    if isinstance(error, HTTPException):  # FastAPI's own, e.g. a body that is no JSON
        return render(str(error.detail), error.status_code, dict(error.headers or {}) or None)
    raise error


def protocol_route(render: Render) -> type[APIRoute]:
    """The route class whose errors ``render`` answers."""

    class ProtocolRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Any]:
            handler = super().get_route_handler()

            async def answer(request: Request) -> Response:
                try:
                    return await handler(request)
                except (ShipyardError, RequestValidationError, HTTPException) as error:
                    return answered(error, render)

            return answer

    return ProtocolRoute
