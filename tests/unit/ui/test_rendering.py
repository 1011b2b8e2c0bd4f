"""Pieces of the pages that need no project: charts and the run graph never let data close a
script or inject markup, and MLflow links point where its UI is."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from shipyard.lake.batches import STATUSES as BATCH_STATUSES
from shipyard.pipeline.graph import GraphEdge, GraphNode, StepGraph
from shipyard.tracking.records import RUN_STATUSES, STEP_STATUSES
from shipyard.ui.app import STATIC
from shipyard.ui.charts import plot_div
from shipyard.ui.pages.runs import MLFLOW_UI_ENV, graph_svg, mlflow_link
from tests.unit.pipeline.test_graph import _run


def test_chart_data_is_an_escaped_attribute_and_no_script() -> None:
    # the UI's content security policy runs no inline script: a chart is data ui.js draws
    html = str(plot_div([{"type": "bar", "x": ['"><script>alert(1)</script>'], "y": [1]}]))
    assert "<script" not in html and html.count("<") == 2  # the div and its end
    data = re.search(r'data-plot="([^"]*)"', html)
    assert data and json.loads(unescape(data[1]))["data"][0]["x"] == ['"><script>alert(1)</script>']


def test_the_run_graph_escapes_names_and_links_nodes() -> None:
    graph = StepGraph([GraphNode("step:<b>", "<b>", "step", "succeeded", 0, 0),
                       GraphNode("step:x", "x", "step", "failed", 1, 0)],
                      [GraphEdge("step:<b>", "step:x", "a&b")])
    svg = str(graph_svg(graph, {"step:x": "#step-x"}))
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "a&amp;b" in svg
    assert '<a href="#step-x">' in svg and svg.startswith("<svg") and svg.endswith("</svg>")


def test_mlflow_links_go_to_the_tracking_server_or_the_local_ui(
        monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run()
    assert mlflow_link(run) == (None, None)
    served = run.__class__(**{**run.__dict__, "mlflow_run_id": "abc",
                              "tracking_uri": "https://mlflow.example/"})
    assert mlflow_link(served) == ("https://mlflow.example/#/runs/abc", None)
    local = run.__class__(**{**run.__dict__, "mlflow_run_id": "abc",
                             "tracking_uri": "sqlite:////p/mlflow.db"})
    monkeypatch.setenv(MLFLOW_UI_ENV, "http://mlflow.internal:8080/")
    url, start = mlflow_link(local)
    assert url == "http://mlflow.internal:8080/#/runs/abc"
    assert start == "mlflow ui --backend-store-uri sqlite:////p/mlflow.db"


def test_every_status_a_badge_shows_has_a_style() -> None:
    css = (STATIC / "shipyard.css").read_text()
    styled = set(re.findall(r"\.badge\.([\w-]+)", css))
    versions = ("registered", "rejected", "staging", "production", "archived", "rolled_back")
    gates = ("passed", "failed", "not-run")  # "not run", as the badge macro writes it
    shown = {*versions, *gates, *RUN_STATUSES, *STEP_STATUSES, *BATCH_STATUSES, "firing", "ok"}
    assert shown - styled == set()
