"""The ASGI limits on their own: body size, timeout, and refusing beyond the queue."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from shipyard.serving.limits import Limits


async def slow_app(scope: dict, receive: object, send: object) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    delay = scope["path"].strip("/")
    await asyncio.sleep(float(delay) if delay.replace(".", "").isdigit() else 0)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(len(body)).encode()})


def client(**limits: object) -> httpx.AsyncClient:
    settings = {"max_body_bytes": 100, "max_concurrency": 1, "max_queue": 1, "timeout_s": 0.5,
                **limits}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=Limits(slow_app, **settings)),
                             base_url="http://test")


@pytest.mark.anyio
async def test_a_large_body_is_413_and_a_slow_request_504() -> None:
    async with client() as http:
        assert (await http.post("/0", content=b"x" * 100)).status_code == 200
        assert (await http.post("/0", content=b"x" * 101)).status_code == 413

        async def chunks():  # no content-length: counted as it streams in
            for _ in range(5):
                yield b"x" * 30

        assert (await http.post("/0", content=chunks())).status_code == 413
        assert (await http.get("/2")).status_code == 504


@pytest.mark.anyio
async def test_beyond_concurrency_and_queue_requests_get_503_at_once() -> None:
    async with client(timeout_s=5) as http:
        answers = await asyncio.gather(*(http.get("/0.3") for _ in range(4)))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 200, 503, 503]
        refused = next(a for a in answers if a.status_code == 503)
        assert refused.headers["retry-after"] == "1"
        assert (await http.get("/health")).status_code == 200  # exempt, even while busy


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
