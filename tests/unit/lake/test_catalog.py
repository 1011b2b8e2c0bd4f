"""Which source rows a batch read, as ``shipyard lake history`` shows it."""

from __future__ import annotations

import pytest

from shipyard.lake.catalog import batch_selection


@pytest.mark.parametrize(("query", "shown"), [
    ("", ""),
    ('SELECT * FROM "events"', "all"),
    ('SELECT * FROM "events" WHERE "id" > 99 ORDER BY "id"', '"id" > 99'),
    ('SELECT * FROM "events" where "id" > 99', '"id" > 99'),
    ("SELECT * FROM (SELECT * FROM t WHERE a = 1) s WHERE id > 5 ORDER BY id", "id > 5"),
])
def test_a_batch_shows_the_rows_it_selected(query: str, shown: str) -> None:
    assert batch_selection(query) == shown
