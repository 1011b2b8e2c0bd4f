"""ASGI limits in front of the API: concurrency with a bounded queue, timeouts.

Beyond ``max_concurrency`` requests in progress, up to ``max_queue`` more wait their turn; any
further request gets 503 with ``Retry-After`` at once, so overload degrades into fast refusals
instead of a growing queue, timeouts and a dead server. ``timeout_s`` runs from the request's
arrival, so it bounds what a client waits for, queueing included: a request still waiting or
still in progress at the deadline gets 504. ``/health`` bypasses every limit. (The body limit
is :class:`shipyard.asgi.BodyLimit`, which ``shipyard ui`` puts in front of the UI too.)

What the limits answer themselves is reported through ``on_reject(reason)`` and marked in the
scope (:data:`shipyard.asgi.REFUSED`), so the app's own request counting can leave it out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from shipyard.asgi import REFUSED, reply

__all__ = ["Limits"]

EXEMPT = ("/health",)


class Limits:
    def __init__(self, app: Any, *, max_concurrency: int, max_queue: int,
                 timeout_s: float, on_reject: Any = None) -> None:
        self.app = app
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
        detail = {503: "server busy; retry shortly",
                  504: f"no answer within {self.timeout_s} s (waiting and processing)"}[status]
        await reply(send, status, detail, headers)

    async def _guarded(self, scope: dict[str, Any], receive: Any, send: Any,
                       deadline: float) -> None:
        started = False  # a response has begun to reach the client

        async def app_send(message: dict[str, Any]) -> None:
            nonlocal started
            if scope.get(REFUSED):
                return  # the limits answered already; the app's late answer goes nowhere
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout_at(deadline):
                await self.app(scope, receive, app_send)
        except TimeoutError:
            if scope.get(REFUSED):
                return  # the body limit answered already
            if started:  # too late to answer 504: the client sees the answer cut short
                scope[REFUSED] = 504
                self.on_reject("timeout")
            else:
                await self._refuse(scope, send, "timeout", 504)
        except Exception:
            if not scope.get(REFUSED):
                raise
            # the app failed on the disconnect the body limit handed it after its 413
