"""A real HTTP server on 127.0.0.1 that records requests, for tests of anything that calls out.

Tests talk to it over real sockets instead of mocking the HTTP client, so timeouts, refused
connections and retries behave as they do in production. Answers are scripted: give a list of
status codes (or ``Reply`` objects for a body, headers or a delay) and the receiver answers them
in order, then ``200`` (or ``default``) for every later request::

    with Receiver([503, 503]) as receiver:
        send_to(receiver.url + "/hook")
        (request,) = receiver.wait_for(3)[-1:]
        assert request.json == {...}
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

__all__ = ["Receiver", "Recorded", "Reply", "unused_url"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer: status, body, extra headers, and a delay before answering.

    A delay longer than the client's timeout makes the client time out.
    """

    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True)
class Recorded:
    """One request as the receiver saw it; ``json`` is None when the body is not JSON."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any


class Receiver:
    """A threaded local HTTP server recording every request and answering from a script.

    Args:
        replies: Answers for the first requests, in order (status codes or ``Reply``).
        default: Answer once the script is used up.
    """

    def __init__(self, replies: Iterable[int | Reply] = (), *, default: int | Reply = 200) -> None:
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._closing = threading.Event()
        self._script: deque[Reply] = deque(_reply(r) for r in replies)
        self._default = _reply(default)
        self._requests: list[Recorded] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        name="test-receiver", daemon=True)
        self._started = False

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Self:
        if not self._started:
            self._thread.start()
            self._started = True
        return self

    def close(self) -> None:
        """Stop serving; requests still sleeping in a delay are cut short."""
        self._closing.set()
        if self._started:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- inspection and scripting -------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, without a trailing slash: ``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[Recorded]:
        """A copy of the requests received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def respond_with(self, *replies: int | Reply) -> None:
        """Append answers to the script."""
        with self._lock:
            self._script.extend(_reply(r) for r in replies)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Recorded]:
        """Wait until at least ``n`` requests arrived; return them all.

        Raises:
            TimeoutError: Fewer than ``n`` arrived within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"receiver got {len(self._requests)} request(s) in {timeout}s, "
                        f"expected {n}"
                    )
                self._arrived.wait(left)
            return list(self._requests)

    # -- server side --------------------------------------------------------------------------
    def _record(self, request: Recorded) -> Reply:
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()
            return self._script.popleft() if self._script else self._default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                reply = receiver._record(Recorded(
                    method=self.command, path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body, json=parsed,
                ))
                if reply.delay_s and receiver._closing.wait(reply.delay_s):
                    return  # shutting down: drop the request as a dead server would
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json", **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (timeout) and closed the socket

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler


def _reply(value: int | Reply) -> Reply:
    return value if isinstance(value, Reply) else Reply(status=value)


def unused_url(path: str = "/") -> str:
    """A URL on 127.0.0.1 where nothing listens, so connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
