"""Models: versions with aliases, gate and metrics; champion against challenger; promote and
roll back; the audit trail.

Promotion and rollback call :func:`shipyard.registry.promote` and
:func:`shipyard.registry.rollback`, the functions behind ``shipyard models promote`` and
``rollback``: the same per-model lock, audit row and webhooks. The comparison chart is the
report registration (or ``shipyard models compare``) saved; "compare now" recomputes it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from shipyard.errors import BadForm, NotFoundError
from shipyard.registry import AuditTrail, Comparison, Registry
from shipyard.registry.versions import ModelSummary, saved_comparison, summarize, summarize_all
from shipyard.ui.charts import plot_div
from shipyard.ui.render import href, render
from shipyard.ui.session import Session, csrf, flash, operator, project, viewer

__all__ = ["comparison_chart", "router"]

router = APIRouter()


def comparison_chart(c: Comparison) -> Markup:
    """Each metric's gain (challenger minus champion, signed so that right is better) with its
    95% bootstrap interval; the dashed zero line is "no difference"."""
    colour = {"better": "#1a7f37", "worse": "#c62828", "inconclusive": "#5b6474"}
    names = [f"{m.metric} (primary)" if m.metric == c.primary_metric else m.metric
             for m in c.metrics]
    trace = {
        "type": "scatter", "mode": "markers", "x": [m.improvement for m in c.metrics],
        "y": names, "marker": {"size": 11, "color": [colour[m.verdict] for m in c.metrics]},
        "error_x": {"type": "data", "symmetric": False,
                    "array": [m.ci_high - m.improvement for m in c.metrics],
                    "arrayminus": [m.improvement - m.ci_low for m in c.metrics]},
        "customdata": [[m.ci_low, m.ci_high, m.verdict] for m in c.metrics],
        "hovertemplate": "%{y}: gain %{x:+.4f}<br>95% CI [%{customdata[0]:+.4f}, "
                         "%{customdata[1]:+.4f}]<br>%{customdata[2]}<extra></extra>"}
    layout = {
        "title": {"text": f"v{c.challenger} (challenger) − v{c.champion} (champion), "
                          f"{c.rows:,} test rows"},
        "xaxis": {"title": {"text": "gain (> 0 is better), 95% bootstrap interval"},
                  "zeroline": False},
        "yaxis": {"autorange": "reversed", "automargin": True}, "showlegend": False,
        "shapes": [{"type": "line", "x0": 0, "x1": 0, "yref": "paper", "y0": 0, "y1": 1,
                    "line": {"dash": "dash", "color": "#5b6474"}}]}
    return plot_div([trace], layout, height=110 + 45 * len(c.metrics))


def _registry(request: Request) -> Registry:
    return Registry.of(project(request))


@router.get("/models", response_class=HTMLResponse)
def index(request: Request, _: Annotated[Session, Depends(viewer)]) -> Response:
    """Every registered model with its production and staging versions."""
    found = summarize_all(_registry(request))
    if len(found) == 1:  # the usual project: straight to its one model
        return RedirectResponse(href(request, f"/models/{found[0].name}"), status_code=303)
    proj = project(request)
    return render(request, "models.html", title="Models", models=found,
                  train=proj.command("run PIPELINE"))


def _pair(summary: ModelSummary, challenger: int | None,
          champion: int | None) -> tuple[int | None, int | None]:
    """The versions to compare: those asked for, else staging against production."""
    challenger = challenger or summary.staging
    champion = champion or summary.production
    if challenger == champion:
        challenger = None
    return challenger, champion


@router.get("/models/{name}", response_class=HTMLResponse)
def model(request: Request, name: str, _: Annotated[Session, Depends(viewer)],
          challenger: int | None = None, champion: int | None = None) -> Response:
    """One model: its versions, the comparison, the actions and the audit trail."""
    proj = project(request)
    summary = summarize(_registry(request), name)
    challenger, champion = _pair(summary, challenger, champion)
    comparison = (saved_comparison(proj, name, challenger, champion)
                  if challenger is not None and champion is not None else None)
    production = summary.version(summary.production) if summary.production else None
    previous = production.previous_production if production else None
    return render(
        request, "model.html", title=f"Model {name}", model=summary, comparison=comparison,
        evaluated=_evaluated_on(comparison), served=_served_now(request, name, summary),
        chart=comparison_chart(comparison) if comparison else None,
        challenger=challenger, champion=champion, previous=previous,
        trail=AuditTrail.of(proj).history(name, limit=50),
        compare_cli=proj.command(f"models compare {name} --challenger {challenger} "
                                 f"--champion {champion}"),
        force_cli=proj.command(f'models promote {name} VERSION --force --reason "..."'))


def _evaluated_on(c: Comparison | None) -> str | None:
    """Which rows the comparison scored both versions on, as its report records them."""
    if c is None or c.evaluation is None:
        return None
    from shipyard.registry.evaluation import EvaluationSet

    return EvaluationSet(**c.evaluation).describe()


def _served_now(request: Request, name: str, summary: ModelSummary) -> str | None:
    """For the recommender /v1/recommendations serves (``serving.recommender``): the set it
    answers from, and whether it is the production version's (if not, the command that
    publishes that one)."""
    from shipyard.batch.results import ResultsStore

    proj = project(request)
    if proj.config.serving.recommender != name or summary.production is None:
        return None
    current = ResultsStore.of(proj).current(name)
    if current is None:
        return None
    said = (f"/v1/recommendations answers from set {current.id} (v{current.version}, "
            f"published {current.created_at:%Y-%m-%d %H:%M} UTC)")
    if current.version == summary.production:
        return said
    publish = proj.command(f"recommend --model {name} --top {current.k}")
    return f"{said}, not from production v{summary.production}: '{publish}' publishes its set"


def _reason(form: dict[str, str], what: str) -> str:
    reason = form.get("reason", "").strip()
    if not reason:
        raise BadForm(f"a {what} needs a reason: it is kept in the audit trail; go back and "
                          f"say why")
    return reason


def _actor(request: Request, session: Session) -> str:
    """Who is audited: the server's user, and which key signed in to the UI."""
    return f"{project(request).user} (web UI, {session.user})"


def _version(form: dict[str, str]) -> int:
    try:
        return int(form.get("version", ""))
    except ValueError:
        raise NotFoundError(f"no version {form.get('version')!r}: pick one in the versions "
                            f"table") from None


def _served(request: Request, name: str, version: int) -> str:
    """What the move did to a recommender's served set (published, or which is still served),
    as the CLI says it."""
    from shipyard.batch.served_set import after_production_moved

    served = after_production_moved(project(request), name, version)
    return "" if served is None else f"; recommendations: {served.message}"


@router.post("/models/{name}/promote")
def promote_version(request: Request, name: str,
                    session: Annotated[Session, Depends(operator)],
                    form: Annotated[dict[str, str], Depends(csrf)]) -> Response:
    """``shipyard models promote NAME VERSION --reason …``, from the page."""
    from shipyard.registry import promote

    version = _version(form)
    moved = promote(project(request), name, version, reason=_reason(form, "promotion"),
                    actor=_actor(request, session))
    before = f" (was v{moved.previous}, now archived)" if moved.previous else ""
    flash(request, f"{name} version {version} is production{before}{_served(request, name, version)}")
    return RedirectResponse(href(request, f"/models/{name}"), status_code=303)


@router.post("/models/{name}/rollback")
def rollback_model(request: Request, name: str,
                   session: Annotated[Session, Depends(operator)],
                   form: Annotated[dict[str, str], Depends(csrf)]) -> Response:
    """``shipyard models rollback NAME --reason …``, from the page."""
    from shipyard.registry import rollback

    moved = rollback(project(request), name, reason=_reason(form, "rollback"),
                     actor=_actor(request, session))
    flash(request, f"{name}: production rolled back from v{moved.previous} to "
          f"v{moved.version}{_served(request, name, moved.version)}")
    return RedirectResponse(href(request, f"/models/{name}"), status_code=303)


@router.post("/models/{name}/compare")
def compare_now(request: Request, name: str, _: Annotated[Session, Depends(viewer)],
                form: Annotated[dict[str, str], Depends(csrf)]) -> Response:
    """``shipyard models compare``: scores both versions and saves the report (reads only the
    registry, so a viewer may ask for it)."""
    from shipyard.registry import compare_versions

    challenger, champion = _version({"version": form.get("challenger", "")}), _version(
        {"version": form.get("champion", "")})
    done = compare_versions(project(request), name, challenger, champion)
    flash(request, f"compared v{challenger} with v{champion} on {done.rows:,} rows")
    return RedirectResponse(href(request, f"/models/{name}", challenger=challenger,
                                 champion=champion), status_code=303)
