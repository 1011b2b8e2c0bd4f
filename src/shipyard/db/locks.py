"""Named exclusive locks that hold across processes: ingest of a table, a model's transitions.

Two kinds, chosen by where the environment keeps its metadata (:func:`locks_for`):

- **Folder locks** (the embedded default): an OS file lock (``flock``) on a file in a local
  folder. The kernel releases it when the process ends for any reason, SIGKILL included, so a
  killed command never leaves a stale lock. They only exclude processes of one machine, which
  is all an SQLite metadata file can serve anyway.
- **PostgreSQL advisory locks** (team scale): a session lock taken on a connection of its own
  and held for the lock's whole span. The server releases it when that connection ends, so a
  pod killed with -9 frees it as soon as its TCP connection drops, and no lease has to be
  guessed. The connection's ``application_name`` names the holder's host and pid, so a waiting
  process can say who holds the lock and since when (``pg_stat_activity``).

An advisory lock's name is scoped (``<project>/<env>``): two environments that share one
PostgreSQL database still lock independently, as their folders do.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.errors import LockedError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = ["AdvisoryLocks", "FolderLocks", "Locks", "file_lock"]

_POLL_S = 0.1
WaitCallback = Callable[[str], None]


class Locks(ABC):
    """Exclusive named locks; :meth:`hold` waits up to ``wait_s`` for a busy one."""

    @abstractmethod
    def hold(self, name: str, busy: str, wait_s: float = 0.0,
             on_wait: WaitCallback | None = None) -> AbstractContextManager[None]:
        """Hold the lock ``name``; after ``wait_s`` raise ``LockedError`` with ``busy``.

        ``busy`` says what is going on and what to do, with ``{holder}`` where the holder goes.
        ``on_wait`` is told who holds the lock, once, when the wait begins, so a waiting command
        can say why it is not moving.
        """

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the locks are, for messages."""


def _holder_label() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


@contextmanager
def file_lock(path: Path, busy: str, wait_s: float,
              on_wait: WaitCallback | None = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (see :meth:`Locks.hold`)."""
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
                time.sleep(_POLL_S)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{_holder_label()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        yield
    finally:
        handle.close()  # closing the descriptor releases the lock


class FolderLocks(Locks):
    """``flock`` files in a local folder, one per lock name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def where(self) -> str:
        return str(self.folder)

    def hold(self, name: str, busy: str, wait_s: float = 0.0,
             on_wait: WaitCallback | None = None) -> AbstractContextManager[None]:
        return file_lock(self.folder / f"{name}.lock", busy, wait_s, on_wait)


def _keys(name: str) -> tuple[int, int]:
    """Two signed 32-bit keys for ``pg_try_advisory_lock(int, int)``: a fixed namespace (so
    Shipyard's locks never meet another application's) and a hash of the name."""
    namespace = int.from_bytes(hashlib.blake2b(b"shipyard", digest_size=4).digest(), "big",
                               signed=True)
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big", signed=True)
    return namespace, key


class AdvisoryLocks(Locks):
    """PostgreSQL session-level advisory locks on the metadata database."""

    def __init__(self, engine: Engine, scope: str) -> None:
        self.engine = engine
        self.scope = scope

    @property
    def where(self) -> str:
        from shipyard.db import redact

        return f"advisory locks of {redact(str(self.engine.url))}"

    @contextmanager
    def hold(self, name: str, busy: str, wait_s: float = 0.0,
             on_wait: WaitCallback | None = None) -> Iterator[None]:
        import sqlalchemy as sa

        namespace, key = _keys(f"{self.scope}/{name}")
        params = {"a": namespace, "b": key}
        deadline = time.monotonic() + wait_s
        # Its own connection, outside the pool: the lock lives exactly as long as it does.
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            connection.execute(sa.text("SELECT set_config('application_name', :n, false)"),
                               {"n": f"shipyard {_holder_label()}"[:63]})
            while not connection.execute(sa.text("SELECT pg_try_advisory_lock(:a, :b)"),
                                         params).scalar():
                holder = self._holder(connection, namespace, key)
                if time.monotonic() >= deadline:
                    raise LockedError(busy.format(holder=holder))
                if on_wait is not None:
                    on_wait(holder)
                    on_wait = None
                time.sleep(_POLL_S)
            try:
                yield
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:a, :b)"), params)
        finally:
            connection.invalidate()  # never back to the pool: a new session next time
            connection.close()

    @staticmethod
    def _holder(connection: Connection, namespace: int, key: int) -> str:
        """Who holds the lock: the holder's ``application_name`` and since when."""
        import sqlalchemy as sa

        row = connection.execute(sa.text(
            "SELECT a.application_name, a.client_addr, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
            "AND l.granted AND l.classid = (:a)::oid AND l.objid = (:b)::oid AND l.objsubid = 2"),
            {"a": namespace & 0xFFFFFFFF, "b": key & 0xFFFFFFFF}).first()
        if row is None:
            return "another process"
        who = (row.application_name or "").removeprefix("shipyard ") or f"a client at {row.client_addr}"
        return f"{who} since {row.backend_start:%Y-%m-%d %H:%M:%S %Z}".strip()
