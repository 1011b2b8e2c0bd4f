"""The middleware in front of every app Shipyard serves: the body limit and the headers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from shipyard.asgi import REFUSED, BodyLimit, SecurityHeaders, security_headers


class ReadsAll:
    """Reads the whole body and answers its length (a framework sees a disconnect as an
    error, as this raises)."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise OSError("client gone")
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200,
                     "headers": [(b"x-content-type-options", b"mine")]})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


@pytest.mark.anyio
async def test_a_large_body_is_413_whether_declared_or_streamed() -> None:
    app, rejected = ReadsAll(), []
    limited = BodyLimit(app, max_body_bytes=100, on_reject=rejected.append)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=limited),
                                 base_url="http://test") as http:
        assert (await http.post("/", content=b"x" * 100)).text == "100"
        assert (await http.post("/", content=b"x" * 101)).status_code == 413

        async def chunks() -> AsyncIterator[bytes]:  # no content-length: counted as it streams
            for _ in range(5):
                yield b"x" * 30

        streamed = await http.post("/", content=chunks())
        assert streamed.status_code == 413 and "100 bytes" in streamed.json()["detail"]
    assert rejected == ["body_too_large", "body_too_large"]
    assert app.scopes[-1][REFUSED] == 413  # marked, so request counting leaves it out


@pytest.mark.anyio
async def test_security_headers_are_added_unless_the_answer_has_its_own() -> None:
    headed = SecurityHeaders(ReadsAll(), headers=security_headers())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=headed),
                                 base_url="http://test") as http:
        answer = await http.get("/")
    assert answer.headers["x-content-type-options"] == "mine"
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert answer.headers["x-frame-options"] == "DENY"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
