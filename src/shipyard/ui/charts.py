"""Plotly charts as page fragments: one chart library for the UI and the monitoring reports.

The pages load plotly.js once, from ``/ui/static/plotly.min.js`` (the plotly package's own
file, so nothing comes from a CDN), and each chart is a ``<div>`` carrying its traces and
layout as JSON in ``data-plot``, which ``/ui/static/ui.js`` draws once the page is parsed: the
UI's content security policy runs scripts from the UI's own files only, never one inline.
:func:`plot_div` takes the traces and layout as plain dicts, which is what plotly.js reads:
building a ``plotly.graph_objects.Figure`` validates every property in Python and costs tens
of milliseconds a chart, too much for a page with a chart per column.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup, escape

__all__ = ["LAYOUT", "PLOT_CONFIG", "plot_div"]

PLOT_CONFIG = {"displaylogo": False, "responsive": True}
LAYOUT: dict[str, Any] = {
    "margin": {"l": 50, "r": 10, "t": 30, "b": 40}, "template": None,
    "paper_bgcolor": "#fff", "plot_bgcolor": "#fff", "font": {"size": 11},
    "xaxis": {"gridcolor": "#eef0f3"}, "yaxis": {"gridcolor": "#eef0f3"},
}
"""The look of every chart (plotly's white template, without shipping the template)."""


def plot_div(data: list[dict[str, Any]], layout: dict[str, Any] | None = None, *,
             height: int = 280) -> Markup:
    """A ``<div>`` that ``ui.js`` draws with ``Plotly.newPlot``: ``data`` (traces) and
    ``layout`` (merged over :data:`LAYOUT`, one level deep). Drawn once the page is parsed: a
    chart in a grid then takes the width the grid gave it, not the whole row's."""
    merged: dict[str, Any] = {**LAYOUT, "height": height}
    for key, value in (layout or {}).items():
        merged[key] = ({**merged[key], **value} if isinstance(value, dict)
                       and isinstance(merged.get(key), dict) else value)
    spec = json.dumps({"data": data, "layout": merged, "config": PLOT_CONFIG}, default=str,
                      allow_nan=False)
    return Markup('<div class="plot" data-plot="{}" style="width:100%;height:{}px"></div>'
                  ).format(escape(spec), int(height))
