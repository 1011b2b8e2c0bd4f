"""ASGI middleware in front of every app Shipyard serves: one body limit, the security headers.

``shipyard serve`` (the API with the UI mounted at ``/ui``) and ``shipyard ui`` (the UI alone)
put the same :class:`BodyLimit` first, so no route of either reads more than
``serving.max_body_bytes`` of a request into memory, declared or streamed, signed in or not: a
300 MB POST to the sign-in page is cut at the limit, as one to a predict route is.
:class:`SecurityHeaders` adds the headers every answer carries unless the route set its own
(the UI's pages, the API docs): no framing, no content sniffing, a content security policy.

What the body limit answers itself is marked in the scope (:data:`REFUSED`) and reported
through ``on_reject(reason)``, so request counting can leave it out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["API_POLICY", "REFUSED", "BodyLimit", "SecurityHeaders", "reply", "security_headers"]

REFUSED = "shipyard.refused"
"""Scope key set (to the status) when a middleware answered the request instead of the app."""

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""The content security policy of an answer that is data (JSON, metrics): it may load nothing,
run nothing and be framed by nothing, should a browser ever render it as a page."""


async def reply(send: Send, status: int, detail: str,
                headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """Answer ``{"detail": detail}`` with ``status``: what the API's own errors look like."""
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a request whose body is over ``max_body_bytes``: at once when its length is
    declared, else as soon as what streamed in passes the limit (the app then reads a
    disconnect, and whatever it answers is dropped)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int,
                 on_reject: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.on_reject = on_reject or (lambda reason: None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await self._refuse(scope, send)
            return
        seen = 0
        started = False  # an answer has begun to reach the client
        refused = False  # … and it is this limit's 413 (a later middleware may refuse too)

        async def counted() -> Message:
            nonlocal seen, started, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                # Answered here, not by raising: the app would turn an error while reading
                # its body into a 400 (or a 500).
                if not started:
                    started = refused = True
                    await self._refuse(scope, send)
                return {"type": "http.disconnect"}
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if refused:
                return  # answered already; the app's late answer goes nowhere
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except Exception:
            if not refused:
                raise
            # the app failed on the disconnect it was handed after the 413: nothing to add

    async def _refuse(self, scope: Scope, send: Send) -> None:
        self.on_reject("body_too_large")
        await reply(send, 413, f"request body over {self.max_body} bytes (serving.max_body_bytes)")
        scope[REFUSED] = 413


class SecurityHeaders:
    """Adds ``headers`` to every answer that does not carry a header of that name already: a
    page or route with its own policy (the UI, the API docs) keeps it."""

    def __init__(self, app: ASGIApp, *, headers: Iterable[tuple[str, str]]) -> None:
        self.app = app
        self.headers = [(name.lower().encode(), value.encode()) for name, value in headers]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((n, v) for n, v in self.headers if n not in present)]
            await send(message)

        await self.app(scope, receive, sending)


def security_headers(policy: str = API_POLICY) -> list[tuple[str, str]]:
    """The headers of an answer whose content security policy is ``policy``: no other site
    may frame it (to click its buttons), no browser may guess a type other than the declared
    one (a JSON answer run as a script), and links leave no address behind to other sites."""
    return [("X-Frame-Options", "DENY"), ("Content-Security-Policy", policy),
            ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin")]
