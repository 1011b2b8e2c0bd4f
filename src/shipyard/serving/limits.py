"""ASGI limits in front of the app: body size, concurrency with a bounded queue, timeouts.

Beyond ``max_concurrency`` requests in progress, up to ``max_queue`` more wait their turn; any
further request gets 503 with ``Retry-After`` at once, so overload degrades into fast refusals
instead of a growing queue, timeouts and a dead server. ``timeout_s`` runs from the request's
arrival, so it bounds what a client waits for, queueing included: a request still waiting or
still in progress at the deadline gets 504. A body over ``max_body_bytes`` gets 413 whether its
length is declared or it streams in chunks. ``/health`` bypasses every limit.

What the limits answer themselves is reported through ``on_reject(reason)`` and marked in the
scope (``REFUSED``), so the app's own request counting can leave it out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

__all__ = ["REFUSED", "Limits"]

EXEMPT = ("/health",)
REFUSED = "shipyard.refused"  # scope key set when the limits answered the request themselves


async def _reply(send: Any, status: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class Limits:
    def __init__(self, app: Any, *, max_body_bytes: int, max_concurrency: int, max_queue: int,
                 timeout_s: float, on_reject: Any = None) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self.timeout_s = timeout_s
        self.on_reject = on_reject or (lambda reason: None)
        self.active = 0
        self.waiting = 0
        self.slots = asyncio.Semaphore(max_concurrency)  # one held per request in progress

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await self._refuse(scope, send, "body_too_large", 413)
            return
        if self.slots.locked() and self.waiting >= self.max_queue:
            await self._refuse(scope, send, "overloaded", 503, [(b"retry-after", b"1")])
            return
        self.waiting += 1
        try:
            async with asyncio.timeout_at(deadline):
                await self.slots.acquire()
        except TimeoutError:
            await self._refuse(scope, send, "timeout", 504)
            return
        finally:
            self.waiting -= 1
        self.active += 1
        try:
            await self._guarded(scope, receive, send, deadline)
        finally:
            self.active -= 1
            self.slots.release()

    async def _refuse(self, scope: dict[str, Any], send: Any, reason: str, status: int,
                      headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
        scope[REFUSED] = status
        self.on_reject(reason)
        detail = {413: f"request body over {self.max_body} bytes",
                  503: "server busy; retry shortly",
                  504: f"no answer within {self.timeout_s} s (waiting and processing)"}[status]
        await _reply(send, status, detail, headers)

    async def _guarded(self, scope: dict[str, Any], receive: Any, send: Any,
                       deadline: float) -> None:
        seen = 0
        started = False  # a response has begun to reach the client

        async def counted_receive() -> dict[str, Any]:
            nonlocal seen, started
            if scope.get(REFUSED):
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                # Answered here, not by raising: the app would turn an error while reading
                # its body into a 400. It reads a disconnect instead and its answer is dropped.
                if not started:
                    started = True
                    await self._refuse(scope, send, "body_too_large", 413)
                return {"type": "http.disconnect"}
            return message

        async def app_send(message: dict[str, Any]) -> None:
            nonlocal started
            if scope.get(REFUSED):
                return  # the limits answered already; the app's late answer goes nowhere
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout_at(deadline):
                await self.app(scope, counted_receive, app_send)
        except TimeoutError:
            if started:  # too late to answer 504: the client sees the answer cut short
                scope[REFUSED] = 504
                self.on_reject("timeout")
            else:
                await self._refuse(scope, send, "timeout", 504)
        except Exception:
            if not scope.get(REFUSED):
                raise
            # the app failed on the disconnect it was handed after the 413: nothing to add
