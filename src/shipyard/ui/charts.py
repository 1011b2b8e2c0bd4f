"""Plotly figures as page fragments: one chart library for the UI and the monitoring reports.

The pages load plotly.js once, from ``/ui/static/plotly.min.js`` (the plotly package's own
file, so nothing comes from a CDN), and each figure is a ``<div>`` with its drawing call.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

__all__ = ["PLOT_CONFIG", "figure_div"]

PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def figure_div(fig: Any, *, height: int | None = None) -> Markup:
    """``fig`` (a plotly Figure) as a ``<div>`` and its script, plotly.js not included."""
    fig.update_layout(margin={"l": 40, "r": 10, "t": 30, "b": 40}, template="plotly_white",
                      **({"height": height} if height else {}))
    # plotly writes the data as JSON with every "<" escaped (plotly/io/_json.py): no markup
    # in a label can close its script
    html = fig.to_html(full_html=False, include_plotlyjs=False, config=PLOT_CONFIG)
    return Markup(html)  # noqa: S704 - see above
