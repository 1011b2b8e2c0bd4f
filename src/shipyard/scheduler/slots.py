"""Claimed slots in the metadata database: a due slot is run by exactly one scheduler, once.

A slot is claimed by inserting its row; the primary key makes a second claim fail, whether it
comes from a scheduler restarted after a crash or from a second scheduler running at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shipyard.db.migrate import migrate
from shipyard.db.tables import schedule_slots as _slots

if TYPE_CHECKING:
    from shipyard.project import Project

__all__ = ["SlotStore"]


class SlotStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate(engine, "metadata")

    @classmethod
    def of(cls, project: Project) -> SlotStore:
        """The claimed slots in ``project``'s metadata database."""
        return cls(project.metadata_engine)

    def claim(self, pipeline: str, trigger: str, slot: str) -> bool:
        """Claim a slot; False when it was claimed before (by anyone, ever)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(_slots.insert().values(
                    pipeline=pipeline, trigger=trigger, slot=slot,
                    claimed_at=datetime.now(UTC), status="running"))
        except IntegrityError:
            return False
        return True

    def finish(self, pipeline: str, trigger: str, slot: str, *, status: str,
               run_id: str | None, message: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                _slots.update()
                .where(_slots.c.pipeline == pipeline, _slots.c.trigger == trigger,
                       _slots.c.slot == slot)
                .values(status=status, run_id=run_id, message=message)
            )

    def history(self, pipeline: str | None = None) -> list[dict[str, object]]:
        query = sa.select(_slots).order_by(_slots.c.claimed_at)
        if pipeline is not None:
            query = query.where(_slots.c.pipeline == pipeline)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
