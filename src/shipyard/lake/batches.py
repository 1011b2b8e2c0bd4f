"""The batch register in the metadata database: one row per batch, from staging to landed.

The register is the source of truth for what reached the lake: a batch's status moves
``staging → landing → landed`` (or ``rejected``, ``unchanged``, ``empty``), and an incremental
table's watermark is the highest ``watermark_to`` among its landed batches, so it only moves
when a batch is accepted. Quarantine is the set of ``rejected`` batches; the batches of the same
ingest that passed are ``held`` with them (an ingest lands all of its tables or none), and a
rejected batch accepted while another of its ingest is still rejected is ``accepted``, waiting.
The batches of one ingest share an ``ingest_id``. A landed batch's ``reference_role`` says how
it counts in the reference later batches are validated against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shipyard.db.migrate import migrate
from shipyard.db.tables import batches as _batches
from shipyard.errors import NotFoundError
from shipyard.hints import DEFAULT_ENV, command

if TYPE_CHECKING:
    from shipyard.project import Project

__all__ = ["REFERENCE_ROLES", "STATUSES", "Batch", "BatchRegister", "ingest_verdict"]


REFERENCE_ROLES = ("normal", "exception", "new_normal")
"""How a landed batch counts in later batches' references (:mod:`shipyard.lake.reference`):
``normal`` (it passed, or landed with the ingest of one that was accepted), ``exception``
(accepted from quarantine: left out), ``new_normal`` (accepted as the new normal: the
reference starts again at it). None, for batches landed before roles were kept, is normal."""

STATUSES = (
    "staging", "landing", "landed", "rejected", "held", "accepted", "unchanged", "empty",
    "abandoned", "superseded",
)
_FINAL = ("landed", "rejected", "held", "accepted", "unchanged", "empty", "abandoned",
          "superseded")


@dataclass(frozen=True)
class Batch:
    id: int
    table_name: str
    status: str
    rows: int | None
    source_query: str | None
    watermark_from: str | None
    watermark_to: str | None
    content_hash: str | None
    schema_json: str | None
    staged_path: str | None
    report_path: str | None
    summary: str | None
    raw_version: int | None
    clean_version: int | None
    created_at: datetime
    finished_at: datetime | None
    accepted_by: str | None
    accept_reason: str | None
    ingest_id: str | None = None
    reference_role: str | None = None

    @property
    def role(self) -> str:
        """How this batch counts in later references (see :data:`REFERENCE_ROLES`)."""
        return self.reference_role or "normal"


def _now() -> datetime:
    return datetime.now(UTC)


class BatchRegister:
    """Reads and writes batch records; every change is one short transaction."""

    def __init__(self, engine: Engine, *, env: str = DEFAULT_ENV) -> None:
        self.engine = engine
        self.env = env  # for the commands its errors suggest
        migrate(engine, "metadata")

    @classmethod
    def of(cls, project: Project) -> BatchRegister:
        """The batch register in ``project``'s metadata database."""
        return cls(project.metadata_engine, env=project.env_name)

    def create(self, table_name: str, *, source_query: str, watermark_from: str | None,
               ingest_id: str | None = None) -> Batch:
        """Register a new batch of the ingest ``ingest_id``; ``watermark_from`` is JSON text, as
        ``watermark_to`` is."""
        with self.engine.begin() as conn:
            key = conn.execute(
                _batches.insert().values(
                    table_name=table_name,
                    status="staging",
                    source_query=source_query,
                    watermark_from=watermark_from,
                    ingest_id=ingest_id,
                    created_at=_now(),
                )
            ).inserted_primary_key
        assert key is not None  # a one-row insert always reports its key
        return self.get(key[0])

    def update(self, batch_id: int, **values: Any) -> Batch:
        if values.get("status") in _FINAL:
            values.setdefault("finished_at", _now())
        with self.engine.begin() as conn:
            conn.execute(_batches.update().where(_batches.c.id == batch_id).values(**values))
        return self.get(batch_id)

    def get(self, batch_id: int) -> Batch:
        row = self.find_one(batch_id)
        if row is None:
            raise NotFoundError(f"no batch {batch_id} in {self.env}; "
                                f"see '{command('quarantine ls', self.env)}'")
        return row

    def find_one(self, batch_id: int) -> Batch | None:
        """The batch with ``batch_id``, or None (e.g. a file whose record was never written,
        or an id no database integer holds)."""
        if not -(2**63) <= batch_id < 2**63:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_batches).where(_batches.c.id == batch_id)).first()
        return None if row is None else Batch(**row._mapping)

    def find(self, *, table_name: str | None = None, status: str | None = None,
             ingest_id: str | None = None) -> list[Batch]:
        query = sa.select(_batches).order_by(_batches.c.id)
        if table_name is not None:
            query = query.where(_batches.c.table_name == table_name)
        if status is not None:
            query = query.where(_batches.c.status == status)
        if ingest_id is not None:
            query = query.where(_batches.c.ingest_id == ingest_id)
        with self.engine.connect() as conn:
            return [Batch(**row._mapping) for row in conn.execute(query)]

    def last_landed(self, table_name: str) -> Batch | None:
        landed = self.find(table_name=table_name, status="landed")
        return landed[-1] if landed else None

    def last_ingest(self) -> list[Batch]:
        """The batches of the newest ingest (the one of the newest batch), by id; [] before
        any ingest."""
        newest = sa.select(_batches.c.ingest_id).order_by(_batches.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            ingest_id = conn.execute(newest).scalar()
        if ingest_id is None:
            last = self.find()
            return last[-1:]  # recorded before ingests had ids: the newest batch alone
        return self.find(ingest_id=ingest_id)


def ingest_verdict(batches: list[Batch]) -> str:
    """One word for an ingest: ``rejected`` when a batch of it waits in quarantine, else
    ``landed`` when one landed, ``unchanged`` when none had new rows, else the batches'
    status (``staging``/``landing`` while it runs, ``accepted``/``superseded`` after review)."""
    statuses = {b.status for b in batches}
    for verdict in ("rejected", "landing", "staging", "landed", "accepted"):
        if verdict in statuses:
            return verdict
    if statuses and statuses <= {"unchanged", "empty"}:
        return "unchanged"
    return ", ".join(sorted(statuses)) or "none"

