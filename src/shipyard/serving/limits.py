"""ASGI limits in front of the app: body size, concurrency with a bounded queue, timeouts.

Beyond ``max_concurrency`` requests in progress, up to ``max_queue`` more wait their turn; any
further request gets 503 with ``Retry-After`` at once, so overload degrades into fast refusals
instead of a growing queue, timeouts and a dead server. ``/health`` bypasses every limit.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

__all__ = ["Limits"]

EXEMPT = ("/health",)


async def _reply(send: Any, status: int, detail: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


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
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            self.on_reject("body_too_large")
            await _reply(send, 413, f"request body over {self.max_body} bytes")
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrency)
        if self._slots.locked() and self.waiting >= self.max_queue:
            self.on_reject("overloaded")
            await _reply(send, 503, "server busy; retry shortly", [(b"retry-after", b"1")])
            return
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        try:
            await self._guarded(scope, receive, send)
        finally:
            self._slots.release()

    async def _guarded(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen = 0
        started = False

        async def counted_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise _TooLarge
            return message

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, counted_receive, tracked_send), self.timeout_s)
        except _TooLarge:
            self.on_reject("body_too_large")
            if not started:
                await _reply(send, 413, f"request body over {self.max_body} bytes")
        except TimeoutError:
            self.on_reject("timeout")
            if not started:
                await _reply(send, 504, f"request took over {self.timeout_s} s")
