"""Quarantine: rejected batches kept with their data and report until a person decides.

``accept`` lands a rejected batch exactly as if it had passed, recording who accepted it and
why. Other rejected batches of the same table were read from the same watermark and overlap it,
so they are marked superseded rather than left to be accepted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from shipyard.errors import NotFoundError, ShipyardError
from shipyard.lake import duck
from shipyard.lake.batches import Batch, BatchRegister
from shipyard.lake.clean import clean_select
from shipyard.lake.curated import CuratedBuild, check_queries
from shipyard.lake.events import batch_event
from shipyard.lake.landing import land_batch
from shipyard.lake.locks import table_locks
from shipyard.lake.publish import clean_versions, publish, upcoming
from shipyard.lake.snapshots import Snapshot, Snapshots
from shipyard.lake.tables import DeltaStore
from shipyard.lake.validation import ValidationReport
from shipyard.notify import notify
from shipyard.project import Project

__all__ = ["Accepted", "accept", "quarantined", "show"]


@dataclass(frozen=True)
class Accepted:
    batch: Batch
    curated: list[CuratedBuild]
    snapshot: Snapshot


def quarantined(project: Project) -> list[Batch]:
    """Batches waiting in quarantine, oldest first."""
    return BatchRegister.of(project).find(status="rejected")


def show(project: Project, batch_id: int) -> tuple[Batch, ValidationReport | None]:
    batch = BatchRegister.of(project).get(batch_id)
    report = ValidationReport.load(Path(batch.report_path)) if batch.report_path else None
    return batch, report


def accept(project: Project, batch_id: int, *, reason: str, wait_s: float = 0.0) -> Accepted:
    """Land quarantined batch ``batch_id`` as if it had passed validation."""
    if not reason.strip():
        raise ShipyardError("say why the batch is accepted: --reason \"...\" (kept in the audit)")
    register = BatchRegister.of(project)
    batch = register.get(batch_id)
    if batch.status != "rejected":
        raise NotFoundError(
            f"batch {batch_id} is not in quarantine (status: {batch.status}); "
            f"see '{project.command('quarantine ls')}'"
        )
    name = batch.table_name
    if name not in project.config.tables:
        raise NotFoundError(f"batch {batch_id} is of table {name!r}, no longer in shipyard.yaml")
    table = project.config.tables[name]
    store = DeltaStore.of(project)
    with table_locks(project.state_dir / "locks", [name], wait_s=wait_s):
        last = register.last_landed(name)
        if table.mode == "incremental" and last is not None and last.watermark_to != (
            batch.watermark_from
        ):
            raise ShipyardError(
                f"batch {batch_id} was read from watermark {batch.watermark_from}, but "
                f"{name} has since landed up to {last.watermark_to}; run "
                f"'{project.command('ingest')}' instead"
            )
        staged = Path(batch.staged_path or "")
        if not staged.is_file():
            raise NotFoundError(f"batch {batch_id}'s data is missing ({staged}); it cannot be "
                                f"accepted. Run '{project.command('ingest')}' to read the "
                                f"rows again")
        check_queries(
            project.config, store,
            clean_versions(upcoming(store, Snapshots(store).current(), [name])),
            {name: clean_select(pq.read_schema(staged), table.clean, name, duck.parquet(staged))},
        )
        user = project.user
        landed = land_batch(store, register, batch, name, table, staged=staged, accepted_by=user)
        landed = register.update(batch.id, accepted_by=user, accept_reason=reason)
        for other in register.find(table_name=name, status="rejected"):
            register.update(other.id, status="superseded",
                            summary=f"superseded by accepted batch {batch.id}")
        report = ValidationReport.load(Path(batch.report_path)) if batch.report_path else None
        notify(project.config.alerts.webhooks,
               batch_event(project, "quarantine_accepted", landed, report))
        snapshot, curated = publish(project.config, store, project.state_dir / "locks", [name],
                                    origin=f"quarantine accept {batch_id}")
    return Accepted(batch=landed, curated=curated, snapshot=snapshot)

