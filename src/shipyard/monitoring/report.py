"""The drift report, kept in the environment's state: JSON for scripts, and an HTML page with a
plot per column.

Pages share one copy of plotly.js, kept beside them in the state
(``reports/monitoring/plotly.min.js``, written with the first report) and referenced as
``../plotly.min.js``: the folder opens offline (on a laptop, from a CI artifact) with no
request to a CDN, and a page weighs kilobytes instead of the 4.6 MB of an inlined library,
which every ``monitor check`` with a drift rule would otherwise add again. Each plot shows a
column's shares per bin, reference beside current, so a reader sees *how* it moved.
"""

from __future__ import annotations

import html
import json
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from shipyard.monitoring.findings import ColumnResult, DriftReport
from shipyard.project import Project
from shipyard.templating import render
from shipyard.train.profile import OTHER

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["CHART_LIBRARY", "REPORTS", "column_chart", "column_figure", "report_prefix",
           "save_report", "to_dict", "write_report"]

REPORTS = "reports/monitoring"
"""State key prefix of the monitoring reports, one folder per model, beside the models'."""


def report_prefix(model: str) -> PurePosixPath:
    """``reports/monitoring/<model>``: the state keys of ``model``'s reports are under it."""
    return PurePosixPath(REPORTS) / model


CHART_LIBRARY = "../plotly.min.js"
"""Where a report's page finds plotly.js: the one copy beside the models' report folders."""


def _keep_chart_library(project: Project) -> None:
    """Put plotly.js beside the reports once (the plotly package's own file, offline)."""
    key = f"{REPORTS}/plotly.min.js"
    if not project.state.exists(key):
        import plotly

        project.state.put_file(key, Path(plotly.__file__).parent / "package_data" /
                               "plotly.min.js")


def save_report(project: Project, model: str, stem: str, data: dict[str, Any],
                page: str) -> tuple[str, str]:
    """Keep a report as ``<stem>.json`` and its page ``<stem>.html`` in the environment's state,
    where every machine of the team reads it, with the chart library its page loads; returns
    where each is."""
    key = report_prefix(model) / stem
    _keep_chart_library(project)
    return (project.state.put(f"{key}.json", json.dumps(data, indent=2).encode()),
            project.state.put(f"{key}.html", page.encode()))


def to_dict(report: DriftReport) -> dict[str, Any]:
    def result(r: ColumnResult) -> dict[str, Any]:
        t = r.test
        return {"column": r.column, "kind": r.kind, "test": t.test, "statistic": t.statistic,
                "p_value": t.p_value, "effect": t.effect, "psi": t.psi,
                "null_rate": {"reference": t.null_rate[0], "current": t.null_rate[1],
                              "p_value": t.null_p, "effect": t.null_effect},
                "drifted": t.drifted, "reason": t.reason, "reference_rows": r.reference_rows,
                "current_rows": r.current_rows,
                "bins": {"labels": r.labels, "reference": r.reference, "current": r.current}}

    return {"model": report.model, "version": report.version, "created": report.created.isoformat(),
            "window": {"start": report.window.start.isoformat(),
                       "end": report.window.end.isoformat()},
            "rows": report.rows, "version_rows": report.version_rows,
            "previous_rows": report.previous_rows, "settings": report.settings.model_dump(),
            "verdict": {"drifted": report.drifted,
                        **{kind: {"share": report.share(kind), "detected": report.detected(kind)}
                           for kind in ("skew", "drift")},
                        "columns": report.drifted_columns},
            "notes": report.notes, "results": [result(r) for r in report.results]}


MOVERS = 12
"""Bins a chart shows at most: a column of more values (products) shows those whose share
moved most, which is what a reader looks for, in bars wide enough to label."""


def _movers(labels: list[str], reference: list[float], current: list[float]
            ) -> tuple[list[int], str]:
    """Indexes of the bins to draw, in order, and what the title says of the rest: all bins
    when they are few; else the :data:`MOVERS` whose share moved most, by how much, without
    ``<other>`` (the values outside the profile's top ones, whose one tall bar would flatten
    every other), whose shares the title gives instead."""
    if len(labels) <= MOVERS:
        return list(range(len(labels))), ""
    other = [i for i, label in enumerate(labels) if label == OTHER]
    ranked = sorted((i for i in range(len(labels)) if i not in other),
                    key=lambda i: -abs(current[i] - reference[i]))[:MOVERS]
    note = f"the {MOVERS} of {len(labels)} values whose share moved most"
    if other:
        note += f"; {OTHER} {reference[other[0]]:.0%} → {current[other[0]]:.0%}"
    return ranked, note


def column_chart(result: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(traces, layout) of a column's shares per bin, reference beside current, as the plain
    dicts plotly.js draws: one entry of ``results`` in the report's JSON (:func:`to_dict`), so
    a saved report is plotted the same as a fresh one, here and in the web UI. The title sits
    on its own line above the legend; a column of many values shows its top movers."""
    bins = result["bins"]
    shown, note = _movers([str(x) for x in bins["labels"]], bins["reference"], bins["current"])
    labels = [str(bins["labels"][i]) for i in shown]
    baseline = "reference (training)" if result["kind"] == "skew" else "previous window"
    traces = [{"type": "bar", "name": baseline, "x": labels,
               "y": [bins["reference"][i] for i in shown]},
              {"type": "bar", "name": "current window", "x": labels,
               "y": [bins["current"][i] for i in shown]}]
    verdict = "DRIFTED" if result["drifted"] else "stable"
    title = f"{result['column']} ({result['kind']}): {verdict}"
    layout = {"barmode": "group",
              "title": {"text": title + (f"<br><sub>{html.escape(note)}</sub>" if note else ""),
                        "x": 0.01, "xanchor": "left", "y": 0.97, "yanchor": "top",
                        "yref": "container"},
              "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0,
                         "yanchor": "bottom"},
              "margin": {"t": 80 if note else 64},
              "xaxis": {"type": "category", "automargin": True},
              "yaxis": {"title": {"text": "share of non-null values"}, "tickformat": ".0%"}}
    return traces, layout


def column_figure(result: dict[str, Any]) -> go.Figure:
    """:func:`column_chart` as a plotly Figure (the report's page)."""
    import plotly.graph_objects as go

    traces, layout = column_chart(result)
    figure = go.Figure(data=traces, layout=layout)
    figure.update_layout(height=340)
    return figure


def _figure(result: dict[str, Any], first: bool) -> str:
    return str(column_figure(result).to_html(full_html=False,
                                             include_plotlyjs=CHART_LIBRARY if first else False))


def _html(report: DriftReport) -> str:
    def cell(value: float | None, spec: str = ".3g") -> str:
        return "–" if value is None else format(value, spec)

    rows = [{"verdict": "drift" if r.test.drifted else "ok",
             "cells": [r.column, r.kind, r.test.test, cell(r.test.statistic),
                       cell(r.test.p_value, ".2g"), f"{r.test.psi:.3f}", cell(r.test.effect),
                       r.test.reason]}
            for r in report.results]
    plots = "".join(_figure(r, i == 0) for i, r in enumerate(to_dict(report)["results"]))
    own = [(name, ", ".join(f"{key} {value:g}" for key, value in mine.model_dump().items()
                            if value is not None))
           for name, mine in sorted(report.settings.columns.items())]
    verdict = ("drift detected in " + ", ".join(report.drifted_columns) if report.drifted
               else "no drift")
    return render("shipyard.monitoring", "drift.html", report=report, settings=report.settings,
                  title=f"{report.model} v{report.version}: {verdict}", rows=rows, own=own,
                  drift_share=f"{report.settings.drift_share:.0%}", plots=Markup(plots))  # noqa: S704 - plotly's own HTML


def write_report(project: Project, report: DriftReport) -> tuple[str, str]:
    """Keep ``drift-<time>.json`` and ``.html`` (:func:`save_report`); returns where they are."""
    return save_report(project, report.model, f"drift-{report.created:%Y%m%dT%H%M%S%fZ}",
                       to_dict(report), _html(report))
