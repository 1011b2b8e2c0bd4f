"""Per-table ingest locks, so two ingests of one table never interleave their writes.

An OS file lock (``flock``) is held for the whole ingest of a table. The kernel releases it when
the process ends for any reason, SIGKILL included, so a killed ingest never leaves a stale lock
behind. The lock file records who holds it, for the message the waiting process prints.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from shipyard.errors import LockedError

__all__ = ["file_lock", "table_locks"]


@contextmanager
def file_lock(path: Path, busy: str, wait_s: float,
              on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; after ``wait_s`` raise ``LockedError`` with ``busy``.

    ``busy`` says what is going on and what to do, with ``{holder}`` where the holder goes.
    ``on_wait`` is told who holds the lock, once, when the wait begins, so a waiting command
    can say why it is not moving.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                if time.monotonic() >= deadline:
                    raise LockedError(busy.format(holder=holder)) from None
                if on_wait is not None:
                    on_wait(holder)
                    on_wait = None
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        yield
    finally:
        handle.close()  # closing the descriptor releases the lock


@contextmanager
def table_locks(folder: Path, names: list[str], *, wait_s: float = 0.0,
                on_wait: Callable[[str, str], None] | None = None) -> Iterator[None]:
    """Hold the locks of ``names``, taken in sorted order so that two runs cannot deadlock.

    ``on_wait(table, holder)`` is called when waiting for a table's lock begins.
    """
    with ExitStack() as stack:
        for name in sorted(set(names)):
            busy = (f"table {name!r} is being ingested by {{holder}}; wait for it to finish, "
                    f"or pass --wait SECONDS to wait for the lock")
            told = (lambda holder, table=name: on_wait(table, holder)) if on_wait else None
            stack.enter_context(file_lock(folder / f"{name}.lock", busy, wait_s, told))
        yield
