"""Quarantine: rejected batches kept with their data and report until a person decides.

An ingest lands all of its tables or none, so the batches of the same ingest that passed wait
in quarantine too (``held``). ``accept`` lands a rejected batch as if it had passed, recording
who accepted it and why, together with every batch of its ingest, in one lake snapshot: orders
and their lines never land out of step, accepted or not. It lands as an exception, which later
batches are not compared with, unless the person says it is the new normal
(:mod:`shipyard.lake.reference`). When another batch of that ingest is
still rejected, nothing lands yet: the batch is recorded ``accepted`` and the answer names what
still waits. Other quarantined batches of the same tables were read from the same watermark and
overlap them, so they are marked superseded rather than left to be accepted twice.

A quarantined batch's file and report are in the environment's state store
(:mod:`shipyard.lake.files`), so it is accepted from any machine that can reach the store: the
ingest CronJob quarantines, someone's laptop accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow.parquet as pq

from shipyard.errors import NotFoundError, ShipyardError
from shipyard.lake import duck
from shipyard.lake.batches import Batch, BatchRegister
from shipyard.lake.clean import clean_select
from shipyard.lake.curated import CuratedBuild, check_queries
from shipyard.lake.events import batch_event
from shipyard.lake.files import BatchFiles
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
    """What accepting a batch did: the accepted batch, and either the landed ingest (every
    batch of it, the CURATED builds and the snapshot) or the rejected batches still waiting."""

    batch: Batch
    landed: list[Batch] = field(default_factory=list)
    waiting: list[Batch] = field(default_factory=list)
    curated: list[CuratedBuild] = field(default_factory=list)
    snapshot: Snapshot | None = None


def quarantined(project: Project) -> list[Batch]:
    """Batches waiting in quarantine, oldest first."""
    return BatchRegister.of(project).find(status="rejected")


def show(project: Project, batch_id: int) -> tuple[Batch, ValidationReport | None]:
    batch = BatchRegister.of(project).get(batch_id)
    return batch, BatchFiles(project.state).load_report(batch.report_path)


def accept(project: Project, batch_id: int, *, reason: str, wait_s: float = 0.0,
           actor: str | None = None, as_new_normal: bool = False) -> Accepted:
    """Accept quarantined batch ``batch_id`` and land its whole ingest, if nothing of it is
    still rejected (see the module docstring). ``actor`` is who is recorded as accepting it
    (default: ``project.user``; the web UI adds which key acted).

    The batch lands as an exception, left out of the reference later batches are validated
    against, unless ``as_new_normal`` says this is how the data looks from now on, or it changed
    the table's columns (:mod:`shipyard.lake.reference`)."""
    if not reason.strip():
        raise ShipyardError("say why the batch is accepted: --reason \"...\" (kept in the audit)")
    register = BatchRegister.of(project)
    names = sorted({b.table_name for b in _ingest_of(register, _waiting(project, register,
                                                                        batch_id))})
    unknown = [n for n in names if n not in project.config.tables]
    if unknown:
        raise NotFoundError(f"batch {batch_id}'s ingest holds table(s) {', '.join(unknown)}, no "
                            f"longer in shipyard.yaml; run '{project.command('ingest')}' instead")
    files = BatchFiles(project.state)
    try:
        with table_locks(project.locks, names, wait_s=wait_s):
            # Read again under the locks: another process (an ingest, or the same batch
            # accepted elsewhere) may have acted on it while this one waited.
            batch = _waiting(project, register, batch_id)
            return _land_ingest(project, register, files, batch, reason=reason,
                                user=actor or project.user,
                                role=_role(files, batch, as_new_normal=as_new_normal))
    finally:
        files.close()


def _waiting(project: Project, register: BatchRegister, batch_id: int) -> Batch:
    """Batch ``batch_id``, which must be in quarantine."""
    batch = register.get(batch_id)
    if batch.status != "rejected":
        raise NotFoundError(
            f"batch {batch_id} is not in quarantine (status: {batch.status}); "
            f"see '{project.command('quarantine ls')}'"
        )
    return batch


def _role(files: BatchFiles, batch: Batch, *, as_new_normal: bool) -> str:
    """How ``batch``, accepted, counts in later references: the new normal when the person
    says so or when it failed the schema check (the lake's columns are its columns now)."""
    if as_new_normal:
        return "new_normal"
    report = files.load_report(batch.report_path)
    changed_schema = report is not None and any(c.name == "schema" for c in report.failures)
    return "new_normal" if changed_schema else "exception"


def _land_ingest(project: Project, register: BatchRegister, files: BatchFiles, batch: Batch, *,
                 reason: str, user: str, role: str) -> Accepted:
    """Accept ``batch`` as reference ``role`` and land its ingest, under the locks of its
    tables."""
    group = _ingest_of(register, batch)
    names = sorted({b.table_name for b in group})
    waiting = [b for b in group if b.status == "rejected" and b.id != batch.id]
    decision = {"accepted_by": user, "accept_reason": reason, "reference_role": role}
    if waiting:
        accepted = register.update(batch.id, status="accepted", **decision)
        return Accepted(batch=accepted, waiting=waiting)
    store = DeltaStore.of(project)
    for member in group:
        _check_still_current(project, register, files, member)
    staged = {b.table_name: files.fetch(b.staged_path) for b in group}
    check_queries(
        project.config, store, clean_versions(upcoming(store, Snapshots(store).current(), names)),
        {name: clean_select(pq.read_schema(path), project.config.tables[name].clean, name,
                            duck.parquet(path)) for name, path in staged.items()},
    )
    # Every batch says it is landing before any lands: a process killed between two
    # tables leaves them all to the next ingest, which rolls them forward together.
    for member in group:
        register.update(member.id, status="landing",
                        **(decision if member.id == batch.id else {}))
    landed = []
    for member in [register.get(b.id) for b in group]:
        name = member.table_name
        landed.append(land_batch(store, register, member, name, project.config.tables[name],
                                 staged=staged[name], accepted_by=member.accepted_by))
        if (key := files.key(member.staged_path)) is not None:
            files.remove(key)
    ours = {b.id for b in group}
    for name in names:
        for status in ("rejected", "held", "accepted"):
            for other in register.find(table_name=name, status=status):
                if other.id not in ours:
                    register.update(other.id, status="superseded",
                                    summary=f"superseded by accepted batch {batch.id}")
    for member in landed:
        kind = "batch_accepted" if member.accepted_by is None else "quarantine_accepted"
        report = files.load_report(member.report_path)
        notify(project.config.alerts.webhooks, batch_event(project, kind, member, report))
    snapshot, curated = publish(project.config, store, project.locks, names,
                                origin=f"quarantine accept {batch.id}")
    return Accepted(batch=next(b for b in landed if b.id == batch.id), landed=landed,
                    curated=curated, snapshot=snapshot)


def _ingest_of(register: BatchRegister, batch: Batch) -> list[Batch]:
    """The batches of ``batch``'s ingest still waiting in quarantine (rejected, held, or
    accepted while another was still rejected), ``batch`` among them."""
    if batch.ingest_id is None:  # recorded before ingests were: its siblings were not kept
        return [batch]
    return [b for b in register.find(ingest_id=batch.ingest_id)
            if b.status in ("rejected", "held", "accepted")]


def _check_still_current(project: Project, register: BatchRegister, files: BatchFiles,
                         batch: Batch) -> None:
    """Refuse to land a batch its table has moved past since (a later batch landed), and one
    whose data is gone."""
    name = batch.table_name
    last = register.last_landed(name)
    if last is not None and last.id > batch.id:
        raise ShipyardError(
            f"batch {batch.id} of {name} is older than batch {last.id}, which has landed since; "
            f"run '{project.command('ingest')}' instead")
    if project.config.tables[name].mode == "incremental" and last is not None and (
            last.watermark_to != batch.watermark_from):
        raise ShipyardError(
            f"batch {batch.id} was read from watermark {batch.watermark_from}, but "
            f"{name} has since landed up to {last.watermark_to}; run "
            f"'{project.command('ingest')}' instead"
        )
    if not files.exists(batch.staged_path):
        raise NotFoundError(f"batch {batch.id}'s data is missing ({batch.staged_path}); it cannot be "
                            f"accepted. Run '{project.command('ingest')}' to read the rows again")
