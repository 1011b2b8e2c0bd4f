"""The ASGI limits on their own: timeout (queueing included), refusing beyond the queue, and
what they report (the body limit is tests/unit/test_asgi.py's).

The app behind the limits holds each request until the test lets it go, so every check waits
for the state it needs (requests in progress, waiting, refused) instead of for a time.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from shipyard.asgi import REFUSED
from shipyard.serving.limits import Limits


class HeldApp:
    """Reads the whole body, then answers its length: at once, or for paths under /held once
    ``release`` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started: list[str] = []
        self.scopes: list[dict] = []

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        if scope["type"] != "http":
            return
        self.scopes.append(scope)
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise OSError("client gone")  # what a framework does on a disconnect
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.started.append(scope["path"])
        if scope["path"].startswith("/held"):
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


def client(app: HeldApp, **limits: object) -> tuple[httpx.AsyncClient, Limits, list[str]]:
    rejected: list[str] = []
    settings = {"max_concurrency": 1, "max_queue": 1, "timeout_s": 60,
                "on_reject": rejected.append, **limits}
    limited = Limits(app, **settings)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=limited), base_url="http://test")
    return http, limited, rejected


async def until(condition: object, bound_s: float = 60) -> None:
    """Yield to the loop until ``condition()`` holds (bounded, never a fixed wait)."""
    for _ in range(int(bound_s * 100)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


@pytest.mark.anyio
async def test_a_request_past_its_deadline_gets_504() -> None:
    app = HeldApp()  # never released
    http, _, rejected = client(app, timeout_s=0.2)
    async with http:
        answer = await http.get("/held")
    assert answer.status_code == 504 and rejected == ["timeout"]
    assert app.scopes[0][REFUSED] == 504


@pytest.mark.anyio
async def test_time_spent_waiting_for_a_slot_counts_in_the_timeout() -> None:
    # The only slot is taken (as by a request in progress that outlives the timeout): a
    # request that waits for it must get its 504 by its own deadline, never reaching the app.
    app = HeldApp()
    http, limited, rejected = client(app, timeout_s=0.5)
    await limited.slots.acquire()
    async with http:
        # bounded: were the wait not counted, this request would wait for the slot for ever
        answer = await asyncio.wait_for(http.get("/now"), 60)
        assert answer.status_code == 504 and "waiting" in answer.json()["detail"]
        assert app.started == [] and limited.waiting == 0 and rejected == ["timeout"]
        limited.slots.release()
        assert (await http.get("/now")).status_code == 200  # the slot was not leaked


@pytest.mark.anyio
async def test_beyond_concurrency_and_queue_requests_get_503_at_once() -> None:
    app = HeldApp()
    http, limited, rejected = client(app)
    async with http:
        held = [asyncio.create_task(http.get("/held"))]
        await until(lambda: limited.active == 1)
        held.append(asyncio.create_task(http.get("/held/queued")))
        await until(lambda: limited.waiting == 1)
        refused = await asyncio.gather(http.get("/a"), http.get("/b"))
        assert [r.status_code for r in refused] == [503, 503]
        assert refused[0].headers["retry-after"] == "1"
        assert (await http.get("/health")).status_code == 200  # exempt, even while busy
        app.release.set()
        assert [(await h).status_code for h in held] == [200, 200]
    assert rejected == ["overloaded", "overloaded"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
