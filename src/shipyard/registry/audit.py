"""The audit trail of model transitions in the metadata database: who did what, when and why."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shipyard.db.migrate import migrate
from shipyard.db.tables import model_audit as _audit

if TYPE_CHECKING:
    from shipyard.project import Project

__all__ = ["AuditEntry", "AuditTrail"]


@dataclass(frozen=True)
class AuditEntry:
    """One transition: ``registered``, ``rejected``, ``staged``, ``archived``, ``promoted``,
    ``force_promoted`` (a version without a passed gate, by a person's explicit decision),
    ``rolled_back``; and ``compared`` (against which champion, on which rows: their count, a
    hash of their keys, the lake versions) or ``comparison_refused`` (too few rows neither
    version was fitted on)."""

    model: str
    version: int
    action: str
    actor: str
    reason: str
    at: datetime
    details: dict[str, Any]


class AuditTrail:
    """Append-only list of transitions; nothing in Shipyard updates or deletes a row."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate(engine, "metadata")

    @classmethod
    def of(cls, project: Project) -> AuditTrail:
        """The audit trail in ``project``'s metadata database."""
        return cls(project.metadata_engine)

    def record(self, model: str, version: int, action: str, *, actor: str, reason: str,
               details: dict[str, Any] | None = None) -> AuditEntry:
        entry = AuditEntry(model, version, action, actor, reason, datetime.now(UTC),
                           details or {})
        with self.engine.begin() as conn:
            conn.execute(_audit.insert().values(
                model=model, version=version, action=action, actor=actor, reason=reason,
                at=entry.at, details=json.dumps(entry.details, default=str)))
        return entry

    def has(self, model: str, version: int, action: str) -> bool:
        """Whether ``version`` went through ``action`` already: a registration a killed
        process left halfway writes each of its rows once, however often it is continued."""
        query = (sa.select(_audit.c.id).where(_audit.c.model == model,
                                              _audit.c.version == version,
                                              _audit.c.action == action).limit(1))
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def history(self, model: str, *, limit: int = 50) -> list[AuditEntry]:
        """Newest first."""
        query = (sa.select(_audit).where(_audit.c.model == model)
                 .order_by(_audit.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [AuditEntry(r.model, r.version, r.action, r.actor, r.reason,
                           r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC),
                           json.loads(r.details)) for r in rows]
