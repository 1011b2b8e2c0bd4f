"""Every request gets an id, returned as the ``X-Request-ID`` header of its answer (errors and
refusals included) and logged with what it was served, so ``shipyard monitor trace ID`` finds
it. A well-formed id sent by the client is kept (a gateway's or a front end's own id then
reaches the log); otherwise a new ULID is made (:mod:`shipyard.monitoring.logschema`).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from shipyard.monitoring.logschema import new_request_id, well_formed

__all__ = ["HEADER", "RequestIds", "request_id"]

HEADER = "X-Request-ID"
_KEY = "shipyard.request_id"


def request_id(scope: MutableMapping[str, Any]) -> str:
    """The id :class:`RequestIds` gave the request of ``scope``."""
    return str(scope[_KEY])


class RequestIds:
    """ASGI middleware, the outermost: gives each HTTP request its id and answers with it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((v.decode("latin-1") for k, v in scope.get("headers", [])
                     if k == b"x-request-id"), "")
        scope[_KEY] = rid = sent if well_formed(sent) else new_request_id()

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*(h for h in message.get("headers", [])
                                        if h[0].lower() != b"x-request-id"),
                                      (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        await self.app(scope, receive, sending)
