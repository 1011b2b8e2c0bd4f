"""Prometheus metrics of the server, in a registry of its own (one per app, tests included).

Who answered decides where a request is counted: ``shipyard_requests_total`` counts the answers
of the routes (by route template and status); a request the limits answer themselves (413 body
too large, 503 overloaded, 504 timed out, waiting or in progress) never got a route's answer and
is counted only in ``shipyard_rejected_total`` by reason. A request is never counted in both.
:class:`Observed` is the middleware that counts the routes' answers.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shipyard.asgi import REFUSED

__all__ = ["Observed", "Telemetry"]


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("shipyard_requests_total", "Requests answered by a route, by route and "
                                "status (refusals by the limits: shipyard_rejected_total).",
                                ["route", "status"], registry=self.registry)
        self.latency = Histogram(
            "shipyard_request_seconds", "Request latency by route.", ["route"],
            buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10),
            registry=self.registry)
        self.batch_rows = Histogram("shipyard_batch_rows", "Rows per model call.", ["model"],
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024),
                                    registry=self.registry)
        self.version = Gauge("shipyard_model_version", "Version being served.", ["model"],
                             registry=self.registry)
        self.rejected = Counter("shipyard_rejected_total", "Requests answered by a limit: "
                                "body_too_large (413), overloaded (503), timeout (504).",
                                ["reason"], registry=self.registry)
        self.dropped_logs = Counter("shipyard_prediction_log_dropped_total",
                                    "Prediction records dropped because the log queue was full.",
                                    registry=self.registry)

    def batch(self, model: str, rows: int) -> None:
        self.batch_rows.labels(model).observe(rows)

    def loaded(self, model: str, version: int) -> None:
        """A slot now serves ``version``: set at the swap, not at the next request."""
        self.version.labels(model).set(version)


class Observed:
    """ASGI middleware: counts every route's answer by route template and status, and times
    it (the error handlers' answers included: they run inside it)."""

    def __init__(self, app: Any, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what ServerErrorMiddleware answers when the app raises

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except asyncio.CancelledError:
            raise  # timed out (the limits answer and count it) or the server is stopping
        except Exception:
            self._count(scope, status, started)
            raise
        self._count(scope, status, started)

    def _count(self, scope: dict[str, Any], status: int, started: float) -> None:
        if scope.get(REFUSED):  # the limits answered, not the route (see telemetry.py)
            return
        route = getattr(scope.get("route"), "path", "unmatched")
        self.telemetry.requests.labels(route, str(status)).inc()
        self.telemetry.latency.labels(route).observe(time.perf_counter() - started)
