"""Clients through the balancer while an operation runs: what they saw, counted.

``clients`` threads, each with its own keep-alive connection (as a service calling another
would), send GETs round the given paths, each at most ``rate`` a second (a steady load that
leaves the machine's cores to the replicas being started, rather than a flood that measures
only how starved they are), until told to stop, or until a bound of time or of requests,
whichever comes first, so that no operation can run the load forever. A request
fails when it gets no answer or an answer other than 200.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

__all__ = ["Load", "LoadFigures"]


@dataclass
class LoadFigures:
    """What the clients saw during one operation."""

    requests: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)  # "503", "ConnectError", ...

    @property
    def answered(self) -> int:
        return self.requests - self.failed

    def as_dict(self) -> dict[str, object]:
        return {"requests": self.requests, "failed": self.failed, "answered": self.answered,
                "seconds": round(self.seconds, 2),
                "requests_per_s": round(self.requests / self.seconds, 1) if self.seconds else 0,
                "errors": dict(self.errors)}


class Load:
    """``clients`` threads sending ``paths`` to ``base`` with ``headers``; use as a context."""

    def __init__(self, base: str, paths: list[str], headers: dict[str, str], *,
                 clients: int = 16, rate: float = 5.0, bound_s: float = 120.0,
                 max_requests: int = 200_000) -> None:
        self.base = base
        self.paths = paths
        self.headers = headers
        self.clients = clients
        self.rate = rate
        self.bound_s = bound_s
        self.max_requests = max_requests
        self.figures = LoadFigures()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    def __enter__(self) -> Load:
        self._started = time.monotonic()
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True)
                         for n in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self.figures.seconds = time.monotonic() - self._started

    def _client(self, number: int) -> None:
        deadline = self._started + self.bound_s
        sent = 0
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=30.0) as client:
            while not self._stop.wait(max(0.0, self._started + sent / self.rate
                                          - time.monotonic())) and time.monotonic() < deadline:
                path = self.paths[(number + sent * self.clients) % len(self.paths)]
                sent += 1
                try:
                    status = client.get(path).status_code
                    error = None if status == 200 else str(status)
                except httpx.HTTPError as failure:
                    error = type(failure).__name__
                with self._lock:
                    if self.figures.requests >= self.max_requests:
                        return
                    self.figures.requests += 1
                    if error is not None:
                        self.figures.failed += 1
                        self.figures.errors[error] += 1
