"""What monitoring has found so far, read back: saved drift reports, outcomes, rule states.

``monitor drift`` and ``monitor outcomes`` keep JSON beside their HTML pages in the
environment's state (:func:`shipyard.monitoring.report.report_prefix`), and ``monitor check``
(or the scheduler) keeps each rule's state in the metadata database. Measuring again takes
seconds (a window of the prediction log, a year of interactions); a page that people keep open
reads what was measured, says when, and names the command that measures again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from shipyard.errors import NotFoundError
from shipyard.monitoring.outcomes import OutcomesReport
from shipyard.monitoring.report import REPORTS, report_prefix
from shipyard.monitoring.states import MonitorStates, StoredState
from shipyard.project import Project

__all__ = ["RuleState", "SavedDrift", "drift_reports", "latest_outcomes", "monitored_models",
           "rule_states"]


@dataclass(frozen=True)
class SavedDrift:
    """One ``monitor drift`` report: its verdict, and the whole JSON for its plots."""

    path: PurePosixPath
    """Its key in the state store (``reports/monitoring/<model>/drift-<time>.json``)."""
    created: datetime
    version: int
    window: str
    rows: int
    drifted: bool
    columns: list[str]
    """The columns that drifted."""
    data: dict[str, Any]

    @property
    def page(self) -> PurePosixPath:
        """The key of the report's HTML page beside it."""
        return self.path.with_suffix(".html")


def monitored_models(project: Project) -> list[str]:
    """Models with monitoring reports, then the other declared models, by name."""
    found = {PurePosixPath(k).relative_to(REPORTS).parts[0] for k in project.state.list(REPORTS)}
    return sorted(found | set(project.config.models))


def _saved(project: Project, model: str, kind: str) -> list[PurePosixPath]:
    """Keys of ``model``'s ``kind`` reports (``drift``, ``outcomes``), newest first."""
    keys = (PurePosixPath(k) for k in project.state.list(str(report_prefix(model))))
    return sorted((k for k in keys if k.name.startswith(f"{kind}-") and k.suffix == ".json"),
                  key=lambda k: k.name, reverse=True)


def drift_reports(project: Project, model: str, *, limit: int = 20) -> list[SavedDrift]:
    """``model``'s newest ``limit`` drift reports, newest first (a report that cannot be read,
    half-written by a killed process, is skipped)."""
    found = []
    for path in _saved(project, model, "drift"):
        try:
            data = json.loads(project.state.get(str(path)))
            window = data["window"]
            found.append(SavedDrift(
                path, datetime.fromisoformat(data["created"]), int(data["version"]),
                _span(window["start"], window["end"]), int(data["rows"]),
                bool(data["verdict"]["drifted"]), list(data["verdict"]["columns"]), data))
        except (NotFoundError, ValueError, KeyError, TypeError):
            continue
        if len(found) == limit:
            break
    return found


def _span(start: str, end: str) -> str:
    """An ISO window as a person reads it: to the minute, UTC."""
    a, b = (datetime.fromisoformat(t) for t in (start, end))
    return f"{a:%Y-%m-%d %H:%M} – {b:%Y-%m-%d %H:%M} UTC"


def latest_outcomes(project: Project, model: str) -> tuple[OutcomesReport, str] | None:
    """The newest saved ``monitor outcomes`` report of ``model`` and where its page is;
    None: none."""
    for path in _saved(project, model, "outcomes"):
        try:
            report = OutcomesReport.from_dict(json.loads(project.state.get(str(path))))
        except (NotFoundError, ValueError, KeyError, TypeError):
            continue
        return report, project.state.where(str(path.with_suffix(".html")))
    return None


@dataclass(frozen=True)
class RuleState:
    """A declared rule (or a model's drift) and the state last recorded for it."""

    key: str
    kind: str
    target: str | None
    threshold: str | None
    """As written in shipyard.yaml; None for a drift state ``monitor drift`` recorded."""
    stored: StoredState | None
    """None: never checked."""

    @property
    def state(self) -> str:
        return "not checked" if self.stored is None else self.stored.state


def rule_states(project: Project) -> list[RuleState]:
    """Every rule of ``monitoring.rules`` in declared order with its stored state, then the
    stored states no rule declares (drift recorded by ``monitor drift``, a removed rule)."""
    stored = {s.key: s for s in MonitorStates.of(project).latest()}
    found = []
    for rule in project.config.monitoring.rules:
        threshold = rule.threshold if isinstance(rule.threshold, str) else f"{rule.threshold:g}"
        found.append(RuleState(rule.key, rule.kind, rule.target, threshold,
                               stored.pop(rule.key, None)))
    found += [RuleState(s.key, s.kind, s.subject, None, s) for s in stored.values()]
    return found
