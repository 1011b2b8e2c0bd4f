"""Alert events about batches, in the shape every webhook kind is built from."""

from __future__ import annotations

from shipyard.lake.batches import Batch
from shipyard.lake.validation import ValidationReport
from shipyard.notify import Event
from shipyard.project import Project

__all__ = ["batch_event"]

_VERBS = {
    "batch_rejected": "rejected by validation",
    "batch_accepted": "landed",
    "quarantine_accepted": "accepted from quarantine",
}


def batch_event(
    project: Project, kind: str, batch: Batch, report: ValidationReport | None
) -> Event:
    facts = {
        "table": batch.table_name,
        "batch": str(batch.id),
        "rows": f"{batch.rows or 0:,}",
        "report": batch.report_path or "",
    }
    if batch.accepted_by:
        facts["accepted by"] = batch.accepted_by
    return Event(
        kind=kind,
        title=f"{batch.table_name}: batch {batch.id} {_VERBS[kind]}",
        summary=report.summary() if report else (batch.summary or ""),
        facts=facts,
        details={"batch": batch.id, "report": report.to_dict() if report else None},
        project=project.config.project,
        environment=project.env_name,
    )
