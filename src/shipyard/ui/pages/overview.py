"""Overview: one environment at a glance — the last ingest, quarantine, the last run of each
pipeline, each model's production and staging versions, rule states and open alerts.

Each part is read with the library call the CLI uses for it; a part whose store cannot be read
shows why, and the rest of the page still renders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from shipyard.errors import ShipyardError
from shipyard.lake.batches import BatchRegister, ingest_verdict
from shipyard.lake.quarantine import quarantined
from shipyard.monitoring.states import MonitorStates
from shipyard.names import PRODUCTION, STAGING
from shipyard.project import Project
from shipyard.registry.client import Registry
from shipyard.tracking.records import RunStore
from shipyard.ui.render import render
from shipyard.ui.session import Session, project, viewer

router = APIRouter()

T = TypeVar("T")


@dataclass(frozen=True)
class Part:
    """A part of the page: what was read, or why it could not be."""

    value: Any
    error: str | None = None


def _part(read: Callable[[], T]) -> Part:
    try:
        return Part(read())
    except ShipyardError as error:
        return Part(None, str(error).splitlines()[0])


def _models(p: Project) -> list[dict[str, Any]]:
    if not p.config.models:
        return []
    registry = Registry.of(p)
    return [{"name": name, "production": registry.alias(name, PRODUCTION),
             "staging": registry.alias(name, STAGING)} for name in sorted(p.config.models)]


def _last_runs(p: Project) -> list[dict[str, Any]]:
    store = RunStore.of(p)
    found = []
    for name in sorted(p.config.pipelines):
        runs = store.recent(limit=1, pipeline=name)
        found.append({"pipeline": name, "run": runs[0] if runs else None})
    return found


def _ingest(p: Project) -> dict[str, Any]:
    batches = BatchRegister.of(p).last_ingest()
    return {"batches": batches, "verdict": ingest_verdict(batches)}


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, _: Annotated[Session, Depends(viewer)],
             p: Annotated[Project, Depends(project)]) -> HTMLResponse:
    states = _part(lambda: MonitorStates.of(p).latest())
    return render(
        request, "overview.html", title=f"Overview · {p.config.project}",
        ingest=_part(lambda: _ingest(p)),
        quarantine=_part(lambda: quarantined(p)),
        runs=_part(lambda: _last_runs(p)),
        models=_part(lambda: _models(p)),
        states=states,
        alerts=[s for s in states.value or [] if s.alerted == "firing"],
        rules=len(p.config.monitoring.rules),
    )
