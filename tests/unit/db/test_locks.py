"""Cross-process locks: file locks on one machine, PostgreSQL advisory locks at team scale."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.db.locks import AdvisoryLocks, FolderLocks, Locks
from shipyard.errors import LockedError

BUSY = "table 'orders' is being ingested by {holder}"

pytestmark = pytest.mark.postgres


@pytest.fixture(params=["folder", "postgres"])
def locks(request: pytest.FixtureRequest, tmp_path: Path) -> Locks:
    if request.param == "folder":
        return FolderLocks(tmp_path / "locks")
    return AdvisoryLocks(sa.create_engine(request.getfixturevalue("pg_url")), scope="shop/dev")


def _other(locks: Locks) -> Locks:
    """The same locks as another process sees them (its own connection or descriptor)."""
    if isinstance(locks, AdvisoryLocks):
        return AdvisoryLocks(sa.create_engine(locks.engine.url), scope=locks.scope)
    return locks


def test_a_held_lock_refuses_a_second_holder_naming_the_first(locks: Locks) -> None:
    told: list[str] = []
    with locks.hold("table/orders", BUSY):
        with (pytest.raises(LockedError, match=f"being ingested by {socket.gethostname()} pid"),
              _other(locks).hold("table/orders", BUSY, wait_s=0.3, on_wait=told.append)):
            pass
        with _other(locks).hold("table/customers", BUSY):  # another name is free
            pass
    assert len(told) == 1 and "pid" in told[0]
    with _other(locks).hold("table/orders", BUSY):  # released on exit
        pass


def test_environments_sharing_a_database_lock_independently(pg_url: str) -> None:
    dev = AdvisoryLocks(sa.create_engine(pg_url), scope="shop/dev")
    prod = AdvisoryLocks(sa.create_engine(pg_url), scope="shop/prod")
    with dev.hold("table/orders", BUSY), prod.hold("table/orders", BUSY):
        pass


def test_a_killed_holder_frees_its_lock(pg_url: str, tmp_path: Path) -> None:
    """kill -9 of the holder: the server ends its session and the lock with it."""
    ready = tmp_path / "held"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlalchemy as sa, pathlib, time\n"
        "from shipyard.db.locks import AdvisoryLocks\n"
        f"locks = AdvisoryLocks(sa.create_engine({pg_url!r}), scope='shop/dev')\n"
        "with locks.hold('table/orders', 'busy {holder}'):\n"
        f"    pathlib.Path({str(ready)!r}).touch()\n"
        "    time.sleep(600)\n")])
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        locks = AdvisoryLocks(sa.create_engine(pg_url), scope="shop/dev")
        with pytest.raises(LockedError, match=f"pid {holder.pid}"), locks.hold("table/orders", BUSY):
            pass
        holder.kill()
        holder.wait()
        with locks.hold("table/orders", BUSY, wait_s=60):
            pass
    finally:
        holder.kill()
