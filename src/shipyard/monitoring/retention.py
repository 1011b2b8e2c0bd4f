"""Monitoring reports that do not pile up: keep the newest, by count and by age.

Every ``monitor drift`` (and every ``monitor check`` with a drift rule, every 15 minutes if so
scheduled) and ``monitor outcomes`` keeps a report, JSON and page, in the environment's state
(:mod:`shipyard.monitoring.report`). :func:`expire_reports` removes, per model and kind, those
beyond the newest ``monitoring.reports.keep`` and those older than ``monitoring.reports.days``,
always keeping the newest one (what the web UI shows). A report's time is in its name
(``drift-20261207T151730706121Z``), so nothing is read but the listing: the same on a folder,
S3 or Azure. ``monitor compact`` and the scheduler's compaction call it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

from shipyard.monitoring.report import REPORTS
from shipyard.project import Project

__all__ = ["ExpiredReports", "expire_reports"]

_NAME = re.compile(r"^(?P<kind>[a-z]+)-(?P<time>\d{8}T\d{12}Z)\.(?:json|html)$")


@dataclass(frozen=True)
class ExpiredReports:
    """What :func:`expire_reports` did: reports (JSON and page together) removed and kept."""

    removed: int
    kept: int


def expire_reports(project: Project, *, now: datetime | None = None) -> ExpiredReports:
    """Remove the monitoring reports ``monitoring.reports`` no longer keeps (module docstring)."""
    settings = project.config.monitoring.reports
    cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.days) if settings.days else None
    reports: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for key in project.state.list(REPORTS):
        path = PurePosixPath(key)
        match = _NAME.match(path.name)
        if match is None or len(path.relative_to(REPORTS).parts) != 2:
            continue  # the shared chart library, or something not a report
        model = path.relative_to(REPORTS).parts[0]
        reports[(model, match["kind"])][match["time"]].append(key)
    removed = kept = 0
    for by_time in reports.values():
        for rank, stamp in enumerate(sorted(by_time, reverse=True)):
            made = datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
            too_many = settings.keep is not None and rank >= settings.keep
            too_old = cutoff is not None and made < cutoff
            if rank > 0 and (too_many or too_old):
                for key in by_time[stamp]:
                    project.state.delete(key)
                removed += 1
            else:
                kept += 1
    return ExpiredReports(removed, kept)
