"""Per-table ingest locks, so two ingests of one table never interleave their writes.

A table's lock is held for its whole ingest, from reading the source to publishing the
snapshot, by whatever process ingests it: file locks on one machine, PostgreSQL advisory locks
where the metadata database is a server (``Project.locks``; see :mod:`shipyard.db.locks`).
Either is released when its process ends, SIGKILL included, so a killed ingest never leaves a
stale lock behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from shipyard.db.locks import Locks

__all__ = ["table_locks"]


@contextmanager
def table_locks(locks: Locks, names: list[str], *, wait_s: float = 0.0,
                on_wait: Callable[[str, str], None] | None = None) -> Iterator[None]:
    """Hold the locks of ``names``, taken in sorted order so that two runs cannot deadlock.

    ``on_wait(table, holder)`` is called when waiting for a table's lock begins.
    """
    with ExitStack() as stack:
        for name in sorted(set(names)):
            busy = (f"table {name!r} is being ingested by {{holder}}; wait for it to finish, "
                    f"or pass --wait SECONDS to wait for the lock")
            told = (lambda holder, table=name: on_wait(table, holder)) if on_wait else None
            stack.enter_context(locks.hold(f"table/{name}", busy, wait_s, told))
        yield
