"""How many wrong API keys each client address may send: a few at once, then one every few
seconds; beyond that its keys get 429 with ``Retry-After`` instead of being checked.

Every address has an allowance of :data:`BURST` wrong keys, given back one every
:data:`REFILL_S` seconds. While an address has none left, a key it presents is refused
without being compared with the stored ones, so a flood of guesses learns nothing, right or
wrong, until ``Retry-After`` has passed: ten guesses a minute at most.

A valid key is never slowed. Nothing is counted or waited for when a key is right (one
lookup in a small table), and a key that was right from an address before it ran out of
allowance still passes from there while it waits: behind a proxy, or on one host, many
clients share an address, and one of them sending wrong keys must not lock the others out.
Only keys not yet seen right from that address wait (a new guess is one of them).

Memory is bounded: at most :data:`MAX_ADDRESSES` addresses are tracked, the least recently
seen forgotten first (a forgotten address starts again with a full allowance).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipyard.config.schema import ServingConfig

__all__ = ["BURST", "MAX_ADDRESSES", "REFILL_S", "WrongKeys"]

BURST = 10
"""Wrong keys an address may send at once: a person mistyping, a client misconfigured."""
REFILL_S = 6.0
"""Seconds for one more wrong key to be allowed: ten a minute, sustained."""
MAX_ADDRESSES = 10_000
KEYS_REMEMBERED = 4
"""Right keys remembered per address (their digests): the clients behind it."""


@dataclass
class _Address:
    allowance: float
    at: float
    right: list[bytes] = field(default_factory=list)


class WrongKeys:
    """The wrong-key allowance of every client address (one per server process)."""

    def __init__(self, *, burst: int = BURST, refill_s: float = REFILL_S,
                 max_addresses: int = MAX_ADDRESSES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.refill_s = refill_s
        self.max_addresses = max_addresses
        self.clock = clock
        self._addresses: OrderedDict[str, _Address] = OrderedDict()
        # The API checks keys on the event loop, the documents in the thread pool.
        self._lock = threading.Lock()

    @classmethod
    def of(cls, config: ServingConfig) -> WrongKeys:
        """The allowance ``serving.wrong_keys_burst`` and ``wrong_keys_refill_s`` set."""
        return cls(burst=config.wrong_keys_burst, refill_s=config.wrong_keys_refill_s)

    def wait_s(self, address: str, digest: bytes) -> int | None:
        """Seconds ``address`` must wait before a key of ``digest`` is checked, or None when
        it may be checked now (allowance left, or a key already right from there).

        Read without the lock (one dict lookup under the GIL): every request asks this, and a
        count changing meanwhile only moves the answer by one request."""
        seen = self._addresses.get(address)
        if seen is None or seen.allowance >= 1 or digest in seen.right:
            return None  # (an allowance only grows while nobody counts against it)
        allowance = self._refilled(seen)
        if allowance >= 1:
            return None
        return max(1, math.ceil((1 - allowance) * self.refill_s))

    def wrong(self, address: str) -> None:
        """``address`` sent a wrong key: one less in its allowance."""
        with self._lock:
            seen = self._seen(address)
            seen.allowance = self._refilled(seen) - 1
            seen.at = self.clock()

    def right(self, address: str, digest: bytes) -> None:
        """``address`` sent the key of ``digest``, which is right: it passes from there even
        while the address waits. Already known (every request of a client but its first):
        nothing to write, no lock taken."""
        seen = self._addresses.get(address)
        if seen is not None and digest in seen.right:
            return
        with self._lock:
            seen = self._seen(address)
            if digest not in seen.right:
                seen.right = [digest, *seen.right][:KEYS_REMEMBERED]

    def _refilled(self, seen: _Address) -> float:
        return min(self.burst, seen.allowance + (self.clock() - seen.at) / self.refill_s)

    def _seen(self, address: str) -> _Address:
        seen = self._addresses.get(address)
        if seen is None:
            seen = self._addresses[address] = _Address(self.burst, self.clock())
            if len(self._addresses) > self.max_addresses:
                self._addresses.popitem(last=False)
        else:
            self._addresses.move_to_end(address)
        return seen
