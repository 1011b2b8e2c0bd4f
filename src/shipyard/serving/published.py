"""The server's copy of the current published recommendation set: its hot rows in memory.

Reading a customer's row from the results database on every request cost the server a
thread-pool hop, a pooled connection and a three-table join per request. The set a request
answers from changes only when one is published (``shipyard recommend``, or a promotion), so
the server keeps what it has read of the current set, keyed by the set's id, and answers again
from memory. As the model server checks its ``production`` alias (:mod:`.served`), it checks
the model's current-set pointer again at most every ``check_every_s`` (0.25 s by default), at
the first request after that; when the pointer has moved, the rows held are dropped with the
old set and the new set is read row by row as it is asked for. A publish is therefore served
within ``check_every_s`` (plus one pointer read) of its commit, and never mixed with the
previous set: each answer comes from the one set the pointer named when checked, read by that
set's id (the results store keeps replaced sets readable, :data:`~shipyard.batch.results.KEEP`).

**Memory is bounded**: at most ``max_rows`` customers are held (:data:`MAX_ROWS`, 20,000, by
default), least recently asked dropped first; a customer the set does not hold is held too
(as absent), so unknown ids cannot push the database into every request. A row takes about
0.17 KB per product in Python (1.7 KB at K = 10, key and order included), so the default holds
at most ~35 MB at K = 10 whatever the size of the set.

Everything but the database reads runs on the event loop, so the cache needs no lock; a
pointer check in flight is shared by the requests that arrive meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi.concurrency import run_in_threadpool

from shipyard.batch.results import ResultsStore

__all__ = ["CHECK_EVERY_S", "MAX_ROWS", "PublishedRows"]

CHECK_EVERY_S = 0.25
"""How old the server's knowledge of the current-set pointer may get (seconds)."""
MAX_ROWS = 20_000
"""Customers held in memory at most (about 35 MB at K = 10)."""

Items = list[tuple[str, float]]


@dataclass
class _Held:
    """What is held of one published set: its rows read so far, least recently used first."""

    set_id: str
    version: int
    rows: OrderedDict[str, Items | None] = field(default_factory=OrderedDict)


class PublishedRows:
    """The current published set of ``model``: each customer's row, read once and kept."""

    def __init__(self, results: ResultsStore, model: str, *,
                 check_every_s: float = CHECK_EVERY_S, max_rows: int = MAX_ROWS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.results = results
        self.model = model
        self.check_every_s = check_every_s
        self.max_rows = max_rows
        self._clock = clock
        self._held: _Held | None = None
        self._checked_at = -float("inf")
        self._checking: asyncio.Task[_Held | None] | None = None

    async def find(self, customer_id: str) -> tuple[str, int, Items] | None:
        """(set id, model version, [(product, score)] best first) of ``customer_id`` in the
        current set; None when no set is published or the set does not hold the customer."""
        held = await self._current()
        if held is None:
            return None
        rows = held.rows
        if customer_id in rows:
            rows.move_to_end(customer_id)
            items = rows[customer_id]
        else:
            items = await run_in_threadpool(self.results.row, held.set_id, customer_id)
            rows[customer_id] = items
            if len(rows) > self.max_rows:
                rows.popitem(last=False)
        return None if items is None else (held.set_id, held.version, items)

    async def _current(self) -> _Held | None:
        """The set the pointer names, checked again when the last check is too old."""
        if self._clock() - self._checked_at < self.check_every_s:
            return self._held
        if self._checking is None:
            self._checking = asyncio.ensure_future(self._check())
        checking = self._checking
        try:  # shielded: a request cancelled meanwhile must not cancel the others' check
            return await asyncio.shield(checking)
        finally:
            if self._checking is checking and checking.done():
                self._checking = None

    async def _check(self) -> _Held | None:
        made = await run_in_threadpool(self.results.current, self.model)
        if made is None:
            self._held = None
        elif self._held is None or self._held.set_id != made.id:
            self._held = _Held(made.id, made.version)
        self._checked_at = self._clock()
        return self._held
