"""Plotly charts as page fragments: one chart library for the UI and the monitoring reports.

The pages load plotly.js once, from ``/ui/static/plotly.min.js`` (the plotly package's own
file, so nothing comes from a CDN), and each chart is a ``<div>`` with its drawing call.
:func:`plot_div` takes the traces and layout as plain dicts, which is what plotly.js reads:
building a ``plotly.graph_objects.Figure`` validates every property in Python and costs tens
of milliseconds a chart, too much for a page with a chart per column. :func:`figure_div` takes
a ready Figure (e.g. one the monitoring reports build).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from markupsafe import Markup

__all__ = ["LAYOUT", "PLOT_CONFIG", "figure_div", "plot_div"]

PLOT_CONFIG = {"displaylogo": False, "responsive": True}
LAYOUT: dict[str, Any] = {
    "margin": {"l": 50, "r": 10, "t": 30, "b": 40}, "template": None,
    "paper_bgcolor": "#fff", "plot_bgcolor": "#fff", "font": {"size": 11},
    "xaxis": {"gridcolor": "#eef0f3"}, "yaxis": {"gridcolor": "#eef0f3"},
}
"""The look of every chart (plotly's white template, without shipping the template)."""


def _json(value: Any) -> str:
    """JSON safe inside a ``<script>``: no ``<``, ``>`` or ``&`` a value could close it with."""
    text = json.dumps(value, default=str, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def plot_div(data: list[dict[str, Any]], layout: dict[str, Any] | None = None, *,
             height: int = 280) -> Markup:
    """A ``<div>`` drawn by ``Plotly.newPlot`` with ``data`` (traces) and ``layout`` (merged
    over :data:`LAYOUT`, one level deep), once the page is parsed: drawn earlier, a chart in
    a grid takes the width the grid gave it before the next cells existed."""
    merged: dict[str, Any] = {**LAYOUT, "height": height}
    for key, value in (layout or {}).items():
        merged[key] = ({**merged[key], **value} if isinstance(value, dict)
                       and isinstance(merged.get(key), dict) else value)
    element = f"plot-{secrets.token_hex(6)}"
    return Markup(  # noqa: S704 - the id is ours, everything else is escaped JSON
        f'<div id="{element}" class="plot" style="width:100%;height:{int(height)}px"></div>'
        f'<script>document.addEventListener("DOMContentLoaded", () => Plotly.newPlot('
        f'"{element}", {_json(data)}, {_json(merged)}, {_json(PLOT_CONFIG)}));</script>')


def figure_div(fig: Any, *, height: int | None = None) -> Markup:
    """``fig`` (a plotly Figure) as a ``<div>`` and its script, plotly.js not included."""
    fig.update_layout(margin={"l": 40, "r": 10, "t": 30, "b": 40}, template="plotly_white",
                      **({"height": height} if height else {}))
    # plotly writes the data as JSON with every "<" escaped (plotly/io/_json.py): no markup
    # in a label can close its script
    html = fig.to_html(full_html=False, include_plotlyjs=False, config=PLOT_CONFIG)
    return Markup(html)  # noqa: S704 - see above
