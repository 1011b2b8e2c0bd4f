"""The claim rows: one per pipeline with a triggered run that is not over.

The database's primary key on the pipeline makes a claim atomic across servers; a claim holds
while its server lives, or its run process does, or (from another host) while its heartbeat is
fresh (:meth:`Claim.alive`).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shipyard.db.migrate import migrate
from shipyard.db.tables import pipeline_claims as _claims
from shipyard.pipeline.provenance import process_alive

__all__ = ["Claim", "RunClaims"]


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class Claim:
    """Pipeline ``pipeline`` is taken by run ``run_id`` (started, or about to be)."""

    pipeline: str
    run_id: str
    params: dict[str, str]
    host: str
    server_pid: int
    child_pid: int | None
    claimed_at: datetime
    heartbeat_at: datetime

    def alive(self, stale_after: timedelta) -> bool:
        """Whether the claim still holds: while its server lives (whose thread settles the
        run), or, once that server is gone, while its run process lives."""
        server = process_alive(self.host, self.server_pid)
        if server is None:  # another host: only its heartbeat can tell
            return _now() - self.heartbeat_at < stale_after
        return server or (self.child_pid is not None
                          and process_alive(self.host, self.child_pid) is True)


class RunClaims:
    """The claim rows: one per pipeline with a triggered run that is not over."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate(engine, "metadata")

    def take(self, pipeline: str, run_id: str, params: dict[str, str]) -> Claim | None:
        """Claim ``pipeline`` for ``run_id``.

        Returns the claim that holds the pipeline now: ours if it was free, another one if
        not, None if that one was dropped in between (try again).
        """
        now = _now()
        try:
            with self.engine.begin() as conn:
                conn.execute(_claims.insert().values(
                    pipeline=pipeline, run_id=run_id, params=json.dumps(params),
                    host=socket.gethostname(), server_pid=os.getpid(), claimed_at=now,
                    heartbeat_at=now))
        except IntegrityError:
            pass
        return self.of_pipeline(pipeline)

    def of_pipeline(self, pipeline: str) -> Claim | None:
        return self._one(_claims.c.pipeline == pipeline)

    def of_run(self, run_id: str) -> Claim | None:
        return self._one(_claims.c.run_id == run_id)

    def started(self, claim: Claim, child_pid: int) -> None:
        self._update(claim, child_pid=child_pid, heartbeat_at=_now())

    def beat(self, claim: Claim) -> None:
        self._update(claim, heartbeat_at=_now())

    def release(self, claim: Claim) -> None:
        """Drop the claim, unless another server has taken it over meanwhile."""
        with self.engine.begin() as conn:
            conn.execute(_claims.delete().where(_claims.c.pipeline == claim.pipeline,
                                                _claims.c.run_id == claim.run_id))

    def _update(self, claim: Claim, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(_claims.update().where(_claims.c.pipeline == claim.pipeline,
                                                _claims.c.run_id == claim.run_id)
                         .values(**values))

    def _one(self, where: Any) -> Claim | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_claims).where(where)).first()
        if row is None:
            return None
        values = dict(row._mapping)
        values["params"] = json.loads(values["params"])
        values["claimed_at"] = _utc(values["claimed_at"])
        values["heartbeat_at"] = _utc(values["heartbeat_at"])
        return Claim(**values)
