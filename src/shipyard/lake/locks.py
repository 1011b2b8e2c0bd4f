"""Per-table ingest locks, so two ingests of one table never interleave their writes.

An OS file lock (``flock``) is held for the whole ingest of a table. The kernel releases it when
the process ends for any reason, SIGKILL included, so a killed ingest never leaves a stale lock
behind. The lock file records who holds it, for the message the waiting process prints.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from shipyard.errors import LockedError

__all__ = ["file_lock", "table_locks"]


@contextmanager
def file_lock(path: Path, busy: str, wait_s: float) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; after ``wait_s`` raise ``LockedError`` with ``busy``.

    ``busy`` says what is going on and what to do, with ``{holder}`` where the holder goes.
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
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise LockedError(busy.format(holder=holder)) from None
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        yield
    finally:
        handle.close()  # closing the descriptor releases the lock


@contextmanager
def table_locks(folder: Path, names: list[str], *, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the locks of ``names``, taken in sorted order so that two runs cannot deadlock."""
    with ExitStack() as stack:
        for name in sorted(set(names)):
            busy = (f"table {name!r} is being ingested by {{holder}}; wait for it to finish, "
                    f"or pass --wait SECONDS to wait for the lock")
            stack.enter_context(file_lock(folder / f"{name}.lock", busy, wait_s))
        yield
