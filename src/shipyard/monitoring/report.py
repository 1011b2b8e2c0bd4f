"""The drift report, kept in the environment's state: JSON for scripts, and an HTML page with a
plot per column.

The page is self-contained: plotly.js is embedded once, inline, so it opens offline (on a
laptop, from a CI artifact, attached to an alert) with no request to a CDN. Each plot shows a
column's shares per bin, reference beside current, so a reader sees *how* it moved.
"""

from __future__ import annotations

import html
import json
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from shipyard.monitoring.drift import ColumnResult, DriftReport
from shipyard.project import Project

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["REPORTS", "column_chart", "column_figure", "report_prefix", "save_report", "to_dict",
           "write_report"]

REPORTS = "reports/monitoring"
"""State key prefix of the monitoring reports, one folder per model, beside the models'."""


def report_prefix(model: str) -> PurePosixPath:
    """``reports/monitoring/<model>``: the state keys of ``model``'s reports are under it."""
    return PurePosixPath(REPORTS) / model


def save_report(project: Project, model: str, stem: str, data: dict[str, Any],
                page: str) -> tuple[str, str]:
    """Keep a report as ``<stem>.json`` and its page ``<stem>.html`` in the environment's state,
    where every machine of the team reads it; returns where each is."""
    key = report_prefix(model) / stem
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


def column_chart(result: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(traces, layout) of a column's shares per bin, reference beside current, as the plain
    dicts plotly.js draws: one entry of ``results`` in the report's JSON (:func:`to_dict`), so
    a saved report is plotted the same as a fresh one, here and in the web UI."""
    bins = result["bins"]
    baseline = "reference (training)" if result["kind"] == "skew" else "previous window"
    traces = [{"type": "bar", "name": baseline, "x": bins["labels"], "y": bins["reference"]},
              {"type": "bar", "name": "current window", "x": bins["labels"],
               "y": bins["current"]}]
    verdict = f"DRIFTED; {result['reason']}" if result["drifted"] else result["reason"]
    layout = {"barmode": "group", "title": {"text": f"{result['column']} ({result['kind']}): "
                                                    f"{verdict}"},
              "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1,
                         "xanchor": "right"},
              "yaxis": {"title": {"text": "share of non-null values"}}}
    return traces, layout


def column_figure(result: dict[str, Any]) -> go.Figure:
    """:func:`column_chart` as a plotly Figure (the report's page)."""
    import plotly.graph_objects as go

    traces, layout = column_chart(result)
    figure = go.Figure(data=traces, layout=layout)
    figure.update_layout(height=320, margin={"t": 40, "b": 40})
    return figure


def _figure(result: dict[str, Any], first: bool) -> str:
    return str(column_figure(result).to_html(full_html=False, include_plotlyjs=first))


def _html(report: DriftReport) -> str:
    def cell(value: float | None, spec: str = ".3g") -> str:
        return "–" if value is None else format(value, spec)

    rows = "".join(
        f"<tr class={'drift' if r.test.drifted else 'ok'}><td>{html.escape(r.column)}</td>"
        f"<td>{r.kind}</td><td>{r.test.test}</td><td>{cell(r.test.statistic)}</td>"
        f"<td>{cell(r.test.p_value, '.2g')}</td><td>{r.test.psi:.3f}</td>"
        f"<td>{cell(r.test.effect)}</td><td>{html.escape(r.test.reason)}</td></tr>"
        for r in report.results)
    plots = "".join(_figure(r, i == 0) for i, r in enumerate(to_dict(report)["results"]))
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in report.notes)
    own = "".join(f"; {html.escape(name)}: " + ", ".join(
        f"{key} {value:g}" for key, value in mine.model_dump().items() if value is not None)
        for name, mine in sorted(report.settings.columns.items()))
    verdict = ("drift detected in " + ", ".join(report.drifted_columns) if report.drifted
               else "no drift")
    title = f"{report.model} v{report.version}: {verdict}"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left}}
tr.drift td{{color:#b00020;font-weight:bold}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Window {report.window}: {report.rows} rows ({report.version_rows} answered by
v{report.version}); previous window: {report.previous_rows} rows. A column drifts when its test is
significant (p &lt; {report.settings.alpha}) and the shift is large (KS D or total variation ≥
{report.settings.min_effect}, Cohen's h of the null rate ≥ {report.settings.min_null_h}, or PSI ≥
{report.settings.psi}){own}; the model when at least
{report.settings.drift_share:.0%} of its inputs drift, or its prediction does.</p>{notes}
<table><tr><th>column</th><th>kind</th><th>test</th><th>statistic</th><th>p</th><th>PSI</th>
<th>effect</th><th>verdict</th></tr>{rows}</table>
{plots}
</body></html>
"""


def write_report(project: Project, report: DriftReport) -> tuple[str, str]:
    """Keep ``drift-<time>.json`` and ``.html`` (:func:`save_report`); returns where they are."""
    return save_report(project, report.model, f"drift-{report.created:%Y%m%dT%H%M%S%fZ}",
                       to_dict(report), _html(report))
