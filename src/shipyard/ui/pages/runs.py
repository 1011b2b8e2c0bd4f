"""Runs: the list with filters, and one run — its steps as a graph with status, duration and
why each ran or was reused, parameters, data versions read, git commit, metrics and a link to
the run in MLflow's UI.

Reads go through :class:`shipyard.tracking.records.RunStore` and
:func:`shipyard.tracking.runs.run_metrics`, as ``shipyard runs ls|show`` do; the graph comes
from the run's own record (:func:`shipyard.pipeline.graph.step_graph`).
"""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from shipyard.pipeline.graph import StepGraph, step_graph, step_key
from shipyard.project import Project
from shipyard.redact import redact_url
from shipyard.tracking.records import RUN_STATUSES, RunRecord, RunStore
from shipyard.tracking.runs import run_metrics
from shipyard.ui.render import href, render
from shipyard.ui.session import Session, project, viewer

router = APIRouter(prefix="/runs")

MLFLOW_UI_ENV = "SHIPYARD_MLFLOW_UI"
"""Where MLflow's own UI is, when the tracking store is a database rather than a server (whose
address is its UI's too): default http://127.0.0.1:5000, what ``mlflow ui`` listens on."""

Viewer = Annotated[Session, Depends(viewer)]
ProjectDep = Annotated[Project, Depends(project)]


@router.get("", response_class=HTMLResponse)
def runs(request: Request, _: Viewer, p: ProjectDep,
         pipeline: Annotated[str | None, Query()] = None,
         status: Annotated[str | None, Query()] = None,
         limit: Annotated[int, Query(ge=1, le=500)] = 50) -> HTMLResponse:
    """Recent runs, newest first, of one pipeline and/or one status."""
    pipeline = pipeline or None
    status = status or None
    found = RunStore.of(p).recent(limit=limit, pipeline=pipeline, status=status)
    return render(request, "runs.html", title="Runs", runs=found, pipeline=pipeline,
                  status=status, limit=limit, pipelines=sorted(p.config.pipelines),
                  statuses=RUN_STATUSES)


def mlflow_link(run: RunRecord) -> tuple[str | None, str | None]:
    """The run's page in MLflow's UI, and when the store is a database, the command that
    opens that UI on it (``mlflow ui`` reads the same database)."""
    if not run.mlflow_run_id or not run.tracking_uri:
        return None, None
    if run.tracking_uri.startswith(("http://", "https://")):
        return f"{run.tracking_uri.rstrip('/')}/#/runs/{run.mlflow_run_id}", None
    base = os.environ.get(MLFLOW_UI_ENV, "http://127.0.0.1:5000").rstrip("/")
    return (f"{base}/#/runs/{run.mlflow_run_id}",
            f"mlflow ui --backend-store-uri {redact_url(run.tracking_uri)}")


_W, _H, _GAP_X, _GAP_Y, _PAD = 170, 44, 70, 18, 10


def _took(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def graph_svg(graph: StepGraph, links: dict[str, str],
              notes: dict[str, str] | None = None) -> Markup:
    """The graph as inline SVG: tables on the left, each step right of its inputs, coloured by
    status; ``links`` maps a node id to the anchor it jumps to, ``notes`` to what its second
    line says (default: its status)."""
    notes = notes or {}
    def x(column: int) -> int:
        return _PAD + column * (_W + _GAP_X)

    def y(row: int) -> int:
        return _PAD + row * (_H + _GAP_Y)

    where = {n.id: n for n in graph.nodes}
    width = x(graph.columns) - _GAP_X + _PAD
    height = y(graph.rows) - _GAP_Y + _PAD
    parts = [(f'<svg class="dag" role="img" aria-label="steps of the run" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}">'),
             ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8b95a7"/>'
             '</marker></defs>')]
    for e in graph.edges:
        a, b = where[e.source], where[e.target]
        x1, y1 = x(a.column) + _W, y(a.row) + _H // 2
        x2, y2 = x(b.column), y(b.row) + _H // 2
        mid = (x1 + x2) // 2
        parts.append(f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" '
                     f'stroke="#8b95a7" stroke-width="1.4" marker-end="url(#arrow)">'
                     f'<title>{escape(e.label)}</title></path>')
        parts.append(f'<text x="{mid}" y="{(y1 + y2) // 2 - 4}" text-anchor="middle" '
                     f'fill="#5b6474">{escape(e.label)}</text>')
    fills = {"succeeded": ("#e6f4ea", "#1a7f37"), "reused": ("#e8edfc", "#3b5bdb"),
             "failed": ("#fde8e8", "#c62828"), "running": ("#fff4d6", "#9a6700"),
             "read": ("#f0f2f5", "#5b6474")}
    for n in graph.nodes:
        fill, stroke = fills.get(n.status, ("#fff", "#8b95a7"))
        note = notes.get(n.id) or (n.status if n.kind == "step" else "lake table")
        shape = (f'<rect x="{x(n.column)}" y="{y(n.row)}" width="{_W}" height="{_H}" rx="6" '
                 f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
                 f'<text x="{x(n.column) + _W // 2}" y="{y(n.row) + 18}" text-anchor="middle" '
                 f'font-weight="600" fill="#1d2330">{escape(n.label[:24])}</text>'
                 f'<text x="{x(n.column) + _W // 2}" y="{y(n.row) + 34}" text-anchor="middle" '
                 f'fill="{stroke}">{escape(note)}</text>')
        link = links.get(n.id)
        parts.append(f'<a href="{escape(link)}"><g>{shape}</g></a>' if link else f"<g>{shape}</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above


@router.get("/{run_id}", response_class=HTMLResponse)
def run(request: Request, run_id: str, _: Viewer, p: ProjectDep) -> HTMLResponse:
    """One run in full."""
    record = RunStore.of(p).resolve(run_id)
    graph = step_graph(record)
    links = {f"step:{s.step}": f"#step-{s.step}" for s in record.steps}
    links.update({n.id: href(request, f"/lake/tables/{n.id.removeprefix('table:').replace('.', '/', 1)}")
                  for n in graph.nodes if n.kind == "table" and "." in n.id})
    notes = {f"step:{s.step}": " · ".join(filter(None, (s.status, _took(s.duration_s))))
             for s in record.steps}
    steps = [(s, step_key(s)) for s in record.steps]
    mlflow_url, mlflow_command = mlflow_link(record)
    return render(request, "run.html", title=f"Run {record.id}", run=record,
                  graph=graph_svg(graph, links, notes), steps=steps, metrics=run_metrics(record),
                  mlflow_url=mlflow_url, mlflow_command=mlflow_command,
                  tracking=redact_url(record.tracking_uri or ""),
                  resume=p.command(f"run {record.pipeline} --resume {record.id}"))
