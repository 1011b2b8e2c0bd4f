"""Lake: tables by layer, a table's versions, a batch's validation report with its columns'
distributions plotted, and quarantine with the **accept** action (operators only).

Reads go through :mod:`shipyard.lake.catalog` and :mod:`shipyard.lake.quarantine`, as
``shipyard lake`` and ``shipyard quarantine`` do; accepting calls
:func:`shipyard.lake.quarantine.accept`, the call behind ``shipyard quarantine accept``, so the
batch record, the lake snapshot and the webhooks are the same whichever shell was used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from shipyard.errors import BadForm, NotFoundError, ShipyardError
from shipyard.lake import quarantine as q
from shipyard.lake.batches import BatchRegister
from shipyard.lake.catalog import batch_selection, published_tables, published_version, unpublished
from shipyard.lake.distributions import ColumnDistribution, compare_distributions
from shipyard.lake.snapshots import Snapshots
from shipyard.lake.tables import LAYERS, DeltaStore
from shipyard.project import Project
from shipyard.ui.charts import plot_div
from shipyard.ui.render import href, render
from shipyard.ui.session import Session, csrf, flash, operator, project, viewer

router = APIRouter(prefix="/lake")

Viewer = Annotated[Session, Depends(viewer)]
ProjectDep = Annotated[Project, Depends(project)]


@router.get("", response_class=HTMLResponse)
def tables(request: Request, _: Viewer, p: ProjectDep) -> HTMLResponse:
    """Every table at the lake's current snapshot, by layer, and the quarantine."""
    store = DeltaStore.of(p)
    snapshots = Snapshots(store)
    snapshot = snapshots.current()
    found = published_tables(store, snapshot)
    by_layer = {layer: [t for t in found if t.layer == layer] for layer in LAYERS}
    return render(request, "lake.html", title="Lake", by_layer=by_layer, snapshot=snapshot,
                  root=store.root, ahead=unpublished(snapshots, snapshot) if snapshot.id else [],
                  waiting=q.quarantined(p))


@router.get("/tables/{layer}/{name}", response_class=HTMLResponse)
def history(request: Request, layer: str, name: str, _: Viewer, p: ProjectDep) -> HTMLResponse:
    """A table's published versions: time, rows, batch and its validation."""
    if layer not in LAYERS:
        raise NotFoundError(f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}")
    store = DeltaStore.of(p)
    published = published_version(store, layer, name)
    snapshot_of = Snapshots(store).published_in(layer, name)
    versions = [v for v in store.history(layer, name) if v.version <= published]
    return render(request, "lake_table.html", title=f"{layer}.{name}", layer=layer, name=name,
                  versions=versions, snapshot_of=snapshot_of, selection=batch_selection)


def _plot(d: ColumnDistribution) -> Markup:
    """The column's shares per bin (or value), the reference beside this batch."""
    labels = [str(x) for x in d.labels] if d.kind == "categorical" else d.labels
    return plot_div(
        [{"type": "bar", "x": labels, "y": d.reference, "name": "reference",
          "marker": {"color": "#9aa5b8"}},
         {"type": "bar", "x": labels, "y": d.new, "name": "this batch",
          "marker": {"color": "#1f5fbf"}}],
        {"title": {"text": d.column, "font": {"size": 13}, "x": 0.01, "xanchor": "left"},
         "barmode": "group",
         "yaxis": {"tickformat": ".0%", "title": {"text": "share of rows"}},
         "xaxis": {"type": "category"} if d.kind == "categorical" else {},
         "legend": {"orientation": "h", "y": -0.25}}, height=260)


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
def batch(request: Request, batch_id: int, session: Viewer, p: ProjectDep) -> HTMLResponse:
    """A batch: its status, source query and validation report, its distributions beside the
    reference, and for a quarantined batch the accept form."""
    found, report = q.show(p, batch_id)
    charts = []
    if report is not None:
        pii = p.config.tables[found.table_name].clean.pii if found.table_name in p.config.tables else []
        try:
            failed = {c.column for c in report.failures}
            found_distributions = compare_distributions(
                DeltaStore.of(p), p.state, BatchRegister.of(p), found, report, exclude=pii)
            charts = [(d, _plot(d)) for d in sorted(found_distributions,
                                                    key=lambda d: d.column not in failed)]
        except ShipyardError:
            charts = []  # the data behind the report is gone (vacuumed): the report stays
    checks = sorted(report.checks, key=lambda c: {False: 0, None: 2}.get(c.passed, 1)) if report else []
    table = p.config.tables.get(found.table_name)
    return render(request, "lake_batch.html", title=f"Batch {found.id}", batch=found,
                  reference_size=(table.validation.reference.batches
                                  if table and table.mode == "incremental" else 1),
                  report=report, checks=checks, charts=charts,
                  can_accept=found.status == "rejected", is_operator=session.role == "operator",
                  selection=batch_selection(found.source_query or ""),
                  report_name=Path(found.report_path).name if found.report_path else None)


@router.post("/batches/{batch_id}/accept")
def accept(request: Request, batch_id: int, _: Annotated[Session, Depends(operator)],
           form: Annotated[dict[str, str], Depends(csrf)], p: ProjectDep) -> Response:
    """Accept a quarantined batch (reason required) with ``shipyard quarantine accept``'s call."""
    reason = form.get("reason", "").strip()
    if not reason:
        raise BadForm("say why the batch is accepted: the reason is kept with the batch; go "
                      "back and fill it in")
    session: Session = request.state.session
    done = q.accept(p, batch_id, reason=reason, actor=f"{p.user} (web UI, {session.user})",
                    as_new_normal=form.get("as_new_normal") == "1")
    counts = ("the new normal: later batches are compared with it"
              if done.batch.role == "new_normal" else
              "an exception: later batches are compared with the normal ones before it")
    if done.snapshot is None:
        waiting = ", ".join(f"{w.table_name} (batch {w.id})" for w in done.waiting)
        flash(request, f"Accepted batch {batch_id} as {counts}; not landed yet: its ingest "
              f"lands all of its tables or none, and {waiting} of it is still rejected.")
    else:
        landed = ", ".join(f"{b.table_name} → raw v{b.raw_version}, clean v{b.clean_version}"
                           for b in done.landed)
        flash(request, f"Accepted batch {batch_id} by {done.batch.accepted_by} as {counts}; "
              f"landed with its ingest ({landed}) as lake snapshot {done.snapshot.id}.")
    return RedirectResponse(href(request, f"/lake/batches/{batch_id}"), status_code=303)
