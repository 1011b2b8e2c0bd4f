"""Keep the server's logs small and fast to read: compact, expire, vacuum.

The server appends a few small files every second it is busy, one per table and day; read
back, thousands of small files cost more than their rows. :func:`compact_logs` runs Delta's own
maintenance on every log table of a project: rows older than ``monitoring.retention_days`` are
deleted (a Delta delete: whole files of expired days are dropped, the rest rewritten), small
files are compacted into large ones (``optimize.compact``, which commits as a rewrite that
concurrent appends of a running server do not conflict with), and files no version still needs
are vacuumed. Vacuum keeps what Delta's retention keeps (7 days by default) unless told
otherwise: a reader or an in-flight append may still need a file that was just replaced.

A plain function of the project, so the CLI (``shipyard monitor compact``) and a scheduled
maintenance job can both call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from shipyard.monitoring.logschema import predictions_path, recommendations_path

if TYPE_CHECKING:
    from shipyard.project import Project

__all__ = ["Compacted", "compact_logs", "log_tables"]


@dataclass(frozen=True)
class Compacted:
    """What :func:`compact_logs` did to one table."""

    table: str
    files_before: int
    files_after: int
    rows_removed: int
    files_vacuumed: int


def log_tables(project: Project) -> dict[str, str]:
    """Every log table the project's server may write: name → path (some may not exist)."""
    root = project.lake_root
    return {**{f"predictions/{m}": predictions_path(root, m) for m in project.config.models},
            "recommendations": recommendations_path(root)}


def compact_logs(project: Project, *, now: datetime | None = None,
                 vacuum_hours: int | None = None) -> list[Compacted]:
    """Expire, compact and vacuum each existing log table of ``project``.

    Args:
        now: the time retention counts back from (default: now).
        vacuum_hours: keep replaced files this long (default: the table's Delta retention,
            7 days); 0 removes them at once (safe only when nothing reads or writes).
    """
    from deltalake import DeltaTable

    cutoff = (now or datetime.now(UTC)) - timedelta(days=project.config.monitoring.retention_days)
    done = []
    for name, path in log_tables(project).items():
        if not DeltaTable.is_deltatable(path, storage_options=project.storage_options):
            continue
        table = DeltaTable(path, storage_options=project.storage_options)
        before = len(table.file_uris())
        deleted = table.delete(f"time < '{cutoff.isoformat()}'")
        table.optimize.compact()
        vacuumed = table.vacuum(retention_hours=vacuum_hours, dry_run=False,
                                enforce_retention_duration=vacuum_hours is None)
        after = len(DeltaTable(path, storage_options=project.storage_options).file_uris())
        done.append(Compacted(name, before, after,
                              int(deleted.get("num_deleted_rows", 0)), len(vacuumed)))
    return done
