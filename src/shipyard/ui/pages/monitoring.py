"""Monitoring: rule states, and per model its drift and skew reports (a plot per feature) and
the outcomes of its published recommendations over time.

What is shown was measured by ``shipyard monitor drift``, ``monitor outcomes`` and ``monitor
check`` (or the scheduler), read back by :mod:`shipyard.monitoring.saved`; each section says
when it was measured and the command that measures again. Plots are the reports' own figures
(:func:`shipyard.monitoring.report.column_chart`,
:func:`shipyard.monitoring.outcomes.outcomes_chart`), kept once drawn for a saved report.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from shipyard.errors import NotFoundError
from shipyard.monitoring.outcomes import outcomes_chart
from shipyard.monitoring.report import column_chart
from shipyard.monitoring.saved import (
    SavedDrift,
    drift_reports,
    latest_outcomes,
    monitored_models,
    rule_states,
)
from shipyard.ui.charts import plot_div
from shipyard.ui.render import render
from shipyard.ui.session import Session, project, viewer

__all__ = ["router"]

router = APIRouter()

_drawn: OrderedDict[str, list[Markup]] = OrderedDict()
_lock = threading.Lock()
KEPT_PLOTS = 32
"""Reports whose plots are kept drawn (a saved report never changes)."""


def _drawn_once(path: object, draw: Callable[[], list[Markup]]) -> list[Markup]:
    """The plots of the saved report at ``path``, drawn on first view (a report is never
    rewritten: its name is the time it was made)."""
    key = str(path)
    with _lock:
        if key in _drawn:
            return _drawn[key]
    plots: list[Markup] = draw()
    with _lock:
        _drawn[key] = plots
        while len(_drawn) > KEPT_PLOTS:
            _drawn.popitem(last=False)
    return plots


@router.get("/monitoring", response_class=HTMLResponse)
def index(request: Request, _: Annotated[Session, Depends(viewer)]) -> Response:
    """Every rule's state, and each model's newest drift verdict."""
    proj = project(request)
    models = [(name, next(iter(drift_reports(proj, name, limit=1)), None))
              for name in monitored_models(proj)]
    return render(request, "monitoring.html", title="Monitoring", rules=rule_states(proj),
                  models=models, check=proj.command("monitor check"),
                  declared=bool(proj.config.monitoring.rules))


@router.get("/monitoring/{model}", response_class=HTMLResponse)
def model_page(request: Request, model: str, _: Annotated[Session, Depends(viewer)],
               report: str | None = None) -> Response:
    """``model``'s drift reports (the newest, or ``?report=`` file name) and outcomes."""
    proj = project(request)
    if model not in monitored_models(proj):
        raise NotFoundError(f"no model {model!r} is declared or monitored in {proj.env_name}; "
                            f"known: {', '.join(monitored_models(proj)) or 'none'}")
    reports = drift_reports(proj, model)
    chosen: SavedDrift | None = reports[0] if reports else None
    if report is not None:
        chosen = next((r for r in reports if r.path.name == report), None)
        if chosen is None:
            raise NotFoundError(f"model {model!r} has no drift report {report!r} among its "
                                f"newest {len(reports)}")
    plots = _drawn_once(chosen.path, lambda: [
        plot_div(*column_chart(r), height=300) for r in chosen.data["results"]]) \
        if chosen else []
    outcomes = latest_outcomes(proj, model)
    outcome_chart = None
    if outcomes is not None:
        found, page = outcomes
        outcome_chart = next(iter(_drawn_once(page, lambda: [
            plot_div(*chart, height=380) for chart in [outcomes_chart(found)] if chart])), None)
    states = [s for s in rule_states(proj) if s.target == model or s.key == f"drift:{model}"]
    return render(
        request, "monitoring_model.html", title=f"Monitoring {model}", model=model,
        reports=reports, chosen=chosen, plots=plots, outcomes=outcomes[0] if outcomes else None,
        outcomes_page=outcomes[1] if outcomes else None, outcome_chart=outcome_chart,
        states=states, drift_cli=proj.command(f"monitor drift {model}"),
        outcomes_cli=proj.command(f"monitor outcomes {model}"))
