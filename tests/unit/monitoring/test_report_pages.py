"""The drift and outcomes pages come from Jinja2 templates (shipyard/monitoring/templates/):
what they were before for the examples (tests/unit/monitoring/expected/), and a name holding
markup (a column, a model, a set id, a note) is shown as text, never run as a script."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.monitoring import outcomes, report
from tests.unit.monitoring.report_examples import HOSTILE, drift_example, outcomes_example

EXPECTED = Path(__file__).parent / "expected"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PAGES: dict[str, Callable[[bool], str]] = {
    "drift": lambda hostile: report._html(drift_example(hostile=hostile)),
    "outcomes": lambda hostile: outcomes._html(outcomes_example(hostile=hostile)),
}


def _comparable(page: str) -> str:
    """Plotly names each chart's element by a random UUID. html.escape wrote an apostrophe and
    a double quote as &#x27; and &quot;, Jinja2 writes the same characters as &#39; and &#34;."""
    return UUID.sub("UUID", page).replace("&#x27;", "&#39;").replace("&quot;", "&#34;")


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_page_is_what_it_was_before_its_template(page: str) -> None:
    expected = (EXPECTED / f"{page}.html").read_text()

    assert _comparable(PAGES[page](False)) == _comparable(expected)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_markup_in_a_name_is_shown_as_text(page: str) -> None:
    html = PAGES[page](True)

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # plotly's own script tags aside, the name never becomes one (plotly escapes its JSON)
    assert HOSTILE not in html and "<script>alert" not in html
