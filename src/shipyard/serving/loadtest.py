"""A bounded HTTP load generator: N connections for a duration or a request count.

A caller that loads a server *while* something else happens (a promotion, say) passes
``until``: the load stops as soon as ``until(report_so_far)`` is true, so it lasts as long as
the event takes on this machine, while the duration and count stay bounds, not the plan.

Latencies are measured per request from send to last byte; the report gives requests/s,
p50/p95/p99 and the count of every status code (and of connection errors), which is what a
reliability check needs: "only 2xx", or "only 429/503 under overload".
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

__all__ = ["LoadReport", "run_load"]

MAX_DURATION_S = 600.0


@dataclass
class LoadReport:
    url: str
    concurrency: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    statuses: Counter[str] = field(default_factory=Counter)
    bodies: list[Any] = field(default_factory=list, repr=False)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    @property
    def failures(self) -> int:
        return sum(n for code, n in self.statuses.items() if not code.startswith("2"))

    def summary(self) -> dict[str, Any]:
        return {"url": self.url, "concurrency": self.concurrency, "seconds": round(self.seconds, 3),
                "requests": self.requests, "rps": round(self.rps, 1),
                "p50_ms": round(self.percentile(50), 2), "p95_ms": round(self.percentile(95), 2),
                "p99_ms": round(self.percentile(99), 2), "statuses": dict(self.statuses),
                "failures": self.failures}


async def _load(url: str, *, concurrency: int, duration_s: float | None, requests: int | None,
                payload: Any, headers: dict[str, str], keep_bodies: bool,
                until: Callable[[LoadReport], bool] | None) -> LoadReport:
    report = LoadReport(url, concurrency, 0.0)
    budget = requests
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    deadline = started + (duration_s if duration_s is not None else MAX_DURATION_S)

    async with httpx.AsyncClient(limits=limits, timeout=30.0, headers=headers) as client:
        async def worker() -> None:
            nonlocal budget
            while time.perf_counter() < deadline:
                if until is not None and until(report):
                    return
                if budget is not None:
                    if budget <= 0:
                        return
                    budget -= 1
                sent = time.perf_counter()
                try:
                    if payload is None:
                        response = await client.get(url)
                    else:
                        response = await client.post(url, json=payload)
                    code = str(response.status_code)
                    if keep_bodies and response.status_code == 200:
                        report.bodies.append(response.json())
                except httpx.HTTPError as error:
                    code = type(error).__name__
                report.latencies_ms.append((time.perf_counter() - sent) * 1000)
                report.statuses[code] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    report.seconds = time.perf_counter() - started
    return report


def run_load(url: str, *, concurrency: int = 8, duration_s: float | None = None,
             requests: int | None = None, payload: Any = None,
             headers: dict[str, str] | None = None, keep_bodies: bool = False,
             until: Callable[[LoadReport], bool] | None = None) -> LoadReport:
    """Send traffic until ``duration_s`` passes or ``requests`` were sent (at least one bound;
    never longer than ten minutes), or, sooner, until ``until(report)`` is true (asked before
    each request). POST ``payload``
    as JSON when given, else GET."""
    if duration_s is None and requests is None:
        raise ValueError("give a duration or a request count: a load test must be bounded")
    if duration_s is not None and not 0 < duration_s <= MAX_DURATION_S:
        raise ValueError(f"duration must be in (0, {MAX_DURATION_S:.0f}] seconds")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    return asyncio.run(_load(url, concurrency=concurrency, duration_s=duration_s,
                             requests=requests, payload=payload, headers=headers or {},
                             keep_bodies=keep_bodies, until=until))
