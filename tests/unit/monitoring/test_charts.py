"""The monitoring charts as people read them: titles clear of legends, a column of many values
shown by its top movers, outcomes drawn only when there is something to draw."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shipyard.monitoring.outcomes import Outcome, OutcomesReport, Scores, outcomes_chart
from shipyard.monitoring.report import MOVERS, column_chart
from shipyard.train.profile import OTHER


def _result(labels: list[str], reference: list[float], current: list[float]) -> dict[str, Any]:
    return {"column": "product", "kind": "skew", "drifted": False, "reason": "stable",
            "bins": {"labels": labels, "reference": reference, "current": current}}


def _legend_clear_of_title(layout: dict[str, Any]) -> None:
    # the title in the container's top band, the legend above the plot area below it
    assert layout["title"]["yref"] == "container" and layout["title"]["yanchor"] == "top"
    assert layout["legend"]["y"] >= 1 and layout["legend"]["yanchor"] == "bottom"
    assert layout["margin"]["t"] >= 60


def test_a_column_of_many_values_shows_its_top_movers_without_other() -> None:
    labels = [f"P{i:03}" for i in range(50)] + [OTHER]
    reference = [0.01] * 50 + [0.41]
    current = [0.01 + (0.002 * i if i % 5 == 0 else 0) for i in range(50)] + [0.44]
    traces, layout = column_chart(_result(labels, reference, current))
    shown = traces[0]["x"]
    assert len(shown) == MOVERS and OTHER not in shown
    assert shown[0] == "P045"  # the largest move first
    title = layout["title"]["text"]  # plotly reads entities: &lt;other&gt; shows as <other>
    assert "&lt;other&gt; 41% → 44%" in title and "12 of 51" in title
    _legend_clear_of_title(layout)


def test_a_column_of_few_values_shows_them_all_in_order() -> None:
    traces, layout = column_chart(_result(["a", "b", OTHER], [0.2, 0.3, 0.5], [0.3, 0.3, 0.4]))
    assert traces[1]["x"] == ["a", "b", OTHER] and traces[1]["y"] == [0.3, 0.3, 0.4]
    _legend_clear_of_title(layout)


def _outcome(day: int, scored: bool) -> Outcome:
    scores = Scores(0.9, 0.2, 0.3) if scored else None
    return Outcome(f"set-{day}", datetime(2026, 11, day, tzinfo=UTC), 1, 10, 100,
                   (date(2026, 11, day), date(2026, 11, day + 1)) if scored else None, 50,
                   scores, Scores(0.7, 0.1, 0.1) if scored else None, 0.8, 0.4, 0.6, None)


def test_outcomes_of_no_set_are_no_chart_of_one_set_bars_of_more_lines() -> None:
    assert outcomes_chart(OutcomesReport("rec", [_outcome(1, scored=False)])) is None
    one = outcomes_chart(OutcomesReport("rec", [_outcome(1, True), _outcome(2, False)]))
    assert one is not None
    traces, layout = one
    assert [t["type"] for t in traces] == ["bar", "bar"] and traces[0]["y"] == [0.9, 0.2, 0.3]
    _legend_clear_of_title(layout)
    many = outcomes_chart(OutcomesReport("rec", [_outcome(1, True), _outcome(2, True)]))
    assert many is not None and {t["type"] for t in many[0]} == {"scatter"}
    assert len(many[0]) == 6 and all(len(t["x"]) == 2 for t in many[0])
