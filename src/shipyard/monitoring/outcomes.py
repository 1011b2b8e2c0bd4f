"""Outcomes of published recommendations: what customers bought after a set was published.

Ground truth arrives with the next ingest. A set (``shipyard recommend``) was computed from the
lake as it was when the set was published; its *period* is the interactions dated after the
newest date that lake held, up to ``monitoring.outcome_horizon`` later or until the next set
computed from newer data. Over the set's customers who bought in the period:

- hit rate (share with at least one recommended product bought), precision@K, MAP@K
  (:func:`shipyard.recsys.metrics.ranking_of`, as offline evaluation computes them);
- the same for the popularity baseline: the K products most customers had bought by then, for
  everyone;
- catalogue coverage (share of the products known then that were recommended to anyone), the
  share of recommendations going to the top 10% most recommended products, and their Gini;
- the share of served requests answered by the popularity fallback, from the recommendation
  log (``<lake>/monitoring/recommendations``, column ``fallback``) when it exists.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from markupsafe import Markup

from shipyard.errors import NotFoundError
from shipyard.monitoring.interactions import LakeHistory
from shipyard.monitoring.report import CHART_LIBRARY, save_report
from shipyard.monitoring.window import parse_duration
from shipyard.names import FLAVOR, TASK
from shipyard.project import Project
from shipyard.recsys.metrics import ranking_of
from shipyard.templating import render

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from shipyard.batch.results import RecommendationSet

__all__ = ["Outcome", "OutcomesReport", "Scores", "check_outcomes", "concentration",
           "losing_streak", "outcomes_chart", "outcomes_figure", "popularity_baseline", "score",
           "write_outcomes"]

TOP_SHARE = 0.1
"""Concentration is the share of recommendations going to this share of the catalogue."""


@dataclass(frozen=True)
class Scores:
    hit_rate: float
    precision_at_k: float
    map_at_k: float


@dataclass(frozen=True)
class Outcome:
    """One published set and what followed it."""

    set_id: str
    published: datetime
    version: int
    k: int
    customers: int
    """Customers in the set."""
    period: tuple[date, date] | None
    """Interaction dates counted, (after, up to and including); None: no data yet."""
    buyers: int
    """The set's customers who bought in the period (the ones scored)."""
    model: Scores | None
    baseline: Scores | None
    coverage: float
    top_share: float
    gini: float
    fallback_share: float | None
    """None: the recommendation log is absent ("not logged")."""


@dataclass
class OutcomesReport:
    model: str
    outcomes: list[Outcome]
    notes: list[str] = field(default_factory=list)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        def one(o: Outcome) -> dict[str, Any]:
            data = asdict(o)
            data["published"] = o.published.isoformat()
            data["period"] = None if o.period is None else [d.isoformat() for d in o.period]
            return data

        return {"model": self.model, "created": self.created.isoformat(),
                "notes": self.notes, "sets": [one(o) for o in self.outcomes]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutcomesReport:
        """A report :meth:`to_dict` wrote (``monitor outcomes`` saves it as JSON)."""
        def scores(value: dict[str, float] | None) -> Scores | None:
            return None if value is None else Scores(**value)

        outcomes = [Outcome(**{
            **o, "published": datetime.fromisoformat(o["published"]),
            "period": None if o["period"] is None else tuple(
                date.fromisoformat(d) for d in o["period"]),
            "model": scores(o["model"]), "baseline": scores(o["baseline"])})
            for o in data["sets"]]
        return cls(data["model"], outcomes, list(data["notes"]),
                   datetime.fromisoformat(data["created"]))


def score(recommended: dict[str, list[str]], bought: dict[str, set[str]], k: int) -> Scores | None:
    """Hit rate, precision@k and MAP@k of ``recommended`` lists over the customers of
    ``bought`` (each with at least one product) that have a list; None if there are none."""
    customers = [c for c in bought if bought[c] and c in recommended]
    if not customers:
        return None
    items = pd.Index(sorted({p for c in customers for p in (*recommended[c][:k], *bought[c])}))
    top = np.full((len(customers), k), -1, dtype=np.int64)
    for row, c in enumerate(customers):
        positions = items.get_indexer(pd.Index(recommended[c][:k]))
        top[row, :len(positions)] = positions
    pairs = [(row, j) for row, c in enumerate(customers)
             for j in items.get_indexer(pd.Index(sorted(bought[c])))]
    rows, cols = zip(*pairs, strict=True)
    truth = sp.csr_matrix((np.ones(len(pairs)), (rows, cols)), shape=(len(customers), len(items)))
    truth.sum_duplicates()
    truth.sort_indices()
    ranked = ranking_of(top, truth)
    hits = np.asarray([bool(set(recommended[c][:k]) & bought[c]) for c in customers])
    return Scores(float(hits.mean()), float(ranked["precision_at_k"].mean()),
                  float(ranked["map_at_k"].mean()))


def losing_streak(outcomes: list[Outcome]) -> int:
    """How many of the newest scored outcomes in a row (oldest first in ``outcomes``) had a
    realised MAP@K below the popularity baseline's on the same customers: the measure of the
    ``losing_to_baseline`` rule. Unscored sets (no period yet) are skipped."""
    streak = 0
    for o in reversed(outcomes):
        if o.model is None or o.baseline is None:
            continue
        if o.model.map_at_k >= o.baseline.map_at_k:
            break
        streak += 1
    return streak


def concentration(recommended: dict[str, list[str]], catalogue: int) -> tuple[float, float, float]:
    """(coverage, share of recommendations on the top 10% products, Gini) over a catalogue of
    ``catalogue`` products (those never recommended count as zeros)."""
    counts = pd.Series([p for products in recommended.values() for p in products]).value_counts()
    size = max(catalogue, len(counts))
    if size == 0 or counts.empty:
        return 0.0, 0.0, 0.0
    full = np.sort(np.concatenate([counts.to_numpy(dtype=float), np.zeros(size - len(counts))]))
    top = math.ceil(TOP_SHARE * size)
    share = float(full[-top:].sum() / full.sum())
    ranks = np.arange(1, size + 1)
    gini = float((2 * ranks - size - 1) @ full / (size * full.sum()))
    return len(counts) / size, share, gini


def popularity_baseline(rows: pd.DataFrame, k: int) -> list[str]:
    """The ``k`` products most customers bought (ties by id): the popularity baseline."""
    buyers = rows.groupby("product")["customer"].nunique()
    return (buyers.reset_index().sort_values(["customer", "product"], ascending=[False, True])
            ["product"].head(k).tolist())


def _fallback_share(project: Project, model: str, start: datetime,
                    end: datetime | None) -> float | None:
    """Share of logged recommendation requests in [start, end) answered by the fallback; None
    when there is no recommendation log (or it has no ``fallback`` column)."""
    from deltalake import DeltaTable

    path = f"{project.lake_root.rstrip('/')}/monitoring/recommendations"
    if not DeltaTable.is_deltatable(path, project.storage_options):
        return None
    table = DeltaTable(path, storage_options=project.storage_options)
    names = table.schema().to_arrow().names
    if "fallback" not in names or "time" not in names:
        return None
    frame = table.to_pyarrow_table(
        columns=[n for n in ("time", "model", "fallback") if n in names]).to_pandas()
    if "model" in frame:
        frame = frame[frame["model"] == model]
    times = pd.to_datetime(frame["time"], utc=True)
    keep = times >= start
    if end is not None:
        keep &= times < end
    chosen = frame.loc[keep, "fallback"]
    return float(chosen.mean()) if len(chosen) else None


def _not_a_recommender(project: Project, model: str) -> None:
    """Raise when ``model`` is a misspelt name or a registered model of another kind (a
    classifier or a regressor has no published sets, and 'recommend' would not make one)."""
    from shipyard.registry.client import Registry

    if model in project.config.models:
        registry = Registry.of(project)
        try:
            newest = registry.versions(model)[0]
        except NotFoundError:
            return  # declared, not registered yet: publishing needs training first, said later
        if newest.tags.get(FLAVOR) != "recommender":
            kind = "regressor" if newest.tags.get(TASK) == "regression" else "classifier"
            raise NotFoundError(
                f"model {model!r} is not a recommender: outcomes score the sets a recommender "
                f"published; a {kind}'s inputs and predictions are watched by "
                f"'{project.command(f'monitor drift {model}')}'")
        return
    Registry.of(project).versions(model)  # unknown: the error names the known models


def check_outcomes(project: Project, model: str = "recommender") -> OutcomesReport:
    """The outcomes of every kept published set of ``model``, oldest first.

    Raises:
        NotFoundError: no set of ``model`` was published in this environment, or the lake has
            no interactions table.
    """
    from shipyard.batch.results import ResultsStore
    from shipyard.lake.tables import DeltaStore

    settings = project.config.monitoring
    store = ResultsStore.of(project)
    sets = store.sets(model)
    if not sets:
        _not_a_recommender(project, model)
        raise NotFoundError(
            f"no recommendations of model {model!r} were published in {project.env_name}; "
            f"publish a set with '{project.command('recommend --top 10')}', then ingest the "
            f"next month's orders and run this again")
    lake = LakeHistory(DeltaStore.of(project), settings.interactions)
    horizon = parse_duration(settings.outcome_horizon)
    known = [lake.at(s.created_at) for s in sets]
    report = OutcomesReport(model, [])
    logged = False
    for i, made in enumerate(sets):
        version = known[i]
        following = next((s.created_at for s in sets[i + 1:]), None)
        later = [v.last_date for v in known[i + 1:] if v is not None and version is not None
                 and v.last_date is not None and version.last_date is not None
                 and v.last_date > version.last_date]
        outcome = _outcome(made, version.last_date if version else None, later[0] if later
                           else None, horizon, lake, store.set_rows(made.id))
        fallback = _fallback_share(project, model, made.created_at, following)
        logged |= fallback is not None
        report.outcomes.append(replace(outcome, fallback_share=fallback))
    if not logged:
        report.notes.append("fallback share not logged: no recommendation log "
                            "(<lake>/monitoring/recommendations) covers these sets")
    if any(o.period is None for o in report.outcomes):
        report.notes.append("a set without a period has no interactions dated after its data "
                            "yet: ingest the next month's orders ('shipyard ingest')")
    return report


def _outcome(made: RecommendationSet, known_until: date | None, next_known: date | None,
             horizon: timedelta, lake: LakeHistory,
             recommended: dict[str, list[str]]) -> Outcome:
    known = lake.between(None, known_until)
    coverage, top_share, gini = concentration(recommended, known["product"].nunique())
    period: tuple[date, date] | None = None
    model_scores = baseline = None
    buyers = 0
    if known_until is not None:
        end = known_until + horizon
        if next_known is not None:
            end = min(end, next_known)
        bought_rows = lake.between(known_until, end)
        if len(bought_rows):
            period = (known_until, min(end, bought_rows["date"].max()))
            grouped = bought_rows.groupby("customer")["product"].agg(set)
            bought: dict[str, set[str]] = {str(c): set(p) for c, p in grouped.items()
                                           if str(c) in recommended}
            buyers = len(bought)
            model_scores = score(recommended, bought, made.k)
            popular = popularity_baseline(known, made.k)
            baseline = score(dict.fromkeys(bought, popular), bought, made.k)
    return Outcome(made.id, made.created_at, made.version, made.k, len(recommended), period,
                   buyers, model_scores, baseline, coverage, top_share, gini, None)


METRICS = {"hit_rate": "hit rate", "precision_at_k": "P@K", "map_at_k": "MAP@K"}
SIDES = {"model": "recommender", "baseline": "popularity baseline"}


def outcomes_chart(report: OutcomesReport) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """(traces, layout) as plotly.js reads them (the report's page and the web UI draw the
    same), or None when no set has outcomes yet (nothing to draw). Sets over time are lines:
    each metric one colour, the recommender solid beside the popularity baseline dashed. One
    set alone is not a line: its metrics are bars, the recommender's beside the baseline's."""
    scored = [o for o in report.outcomes if o.model is not None and o.baseline is not None]
    if not scored:
        return None
    title = {"x": 0.01, "xanchor": "left", "y": 0.97, "yanchor": "top", "yref": "container"}
    legend = {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom"}
    if len(scored) == 1:
        (only,) = scored
        traces = [{"type": "bar", "name": side, "x": list(METRICS.values()),
                   "y": [getattr(getattr(only, name), m) for m in METRICS],
                   "marker": {"color": "#1f5fbf" if name == "model" else "#9aa5b8"}}
                  for name, side in SIDES.items()]
        text = f"{report.model}: the set published {only.published:%Y-%m-%d %H:%M} (v{only.version})"
        return traces, {"barmode": "group", "title": {**title, "text": text}, "legend": legend,
                        "margin": {"t": 64}, "yaxis": {"title": {"text": "score"}}}
    colours = dict(zip(METRICS, ("#1f5fbf", "#1a7f37", "#9a6700"), strict=True))
    x = [f"{o.published:%Y-%m-%d %H:%M} v{o.version}" for o in scored]
    traces = [{"type": "scatter", "mode": "lines+markers", "x": x,
               "y": [getattr(getattr(o, name), metric) for o in scored],
               "name": f"{label} ({side})", "line": {"dash": dash, "color": colours[metric]}}
              for (name, side), dash in zip(SIDES.items(), ("solid", "dash"), strict=True)
              for metric, label in METRICS.items()]
    return traces, {"title": {**title, "text": f"{report.model}: outcomes of published sets"},
                    "legend": legend, "margin": {"t": 80},
                    "xaxis": {"title": {"text": "published set"}, "automargin": True},
                    "yaxis": {"title": {"text": "score"}}}


def outcomes_figure(report: OutcomesReport) -> go.Figure:
    """:func:`outcomes_chart` as a plotly Figure (the report's page)."""
    import plotly.graph_objects as go

    traces, layout = outcomes_chart(report) or ([], {"title": {
        "text": f"{report.model}: no published set has outcomes yet"}})
    figure = go.Figure(data=traces, layout=layout)
    figure.update_layout(height=420)
    return figure


def _html(report: OutcomesReport) -> str:
    rows = [[o.set_id, f"{o.published:%Y-%m-%d %H:%M}",
             "–" if o.period is None else f"{o.period[0]} – {o.period[1]}", o.buyers,
             *("–" if s is None else f"{getattr(s, m):.3f}"
               for s in (o.model, o.baseline) for m in ("hit_rate", "precision_at_k", "map_at_k")),
             f"{o.coverage:.1%}", f"{o.top_share:.1%}", f"{o.gini:.2f}",
             "not logged" if o.fallback_share is None else f"{o.fallback_share:.1%}"]
            for o in report.outcomes]
    chart = outcomes_figure(report).to_html(full_html=False, include_plotlyjs=CHART_LIBRARY)
    return render("shipyard.monitoring", "outcomes.html", report=report, rows=rows,
                  chart=Markup(chart))  # noqa: S704 - plotly's own HTML


def write_outcomes(project: Project, report: OutcomesReport) -> tuple[str, str]:
    """Keep ``outcomes-<time>.json`` and ``.html`` in the state; returns where they are."""
    return save_report(project, report.model, f"outcomes-{report.created:%Y%m%dT%H%M%S%fZ}",
                       report.to_dict(), _html(report))
