"""A table the lake does not hold: the error names the tables it does hold.

Before, a misspelled name (``order_line``) said "does not exist … run 'shipyard ingest' first",
which is the fix for an empty lake only.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from shipyard.errors import NotFoundError
from shipyard.lake.tables import DeltaStore, unknown_table

HELD = {"raw": ["order_lines", "orders"], "clean": ["customers", "order_lines", "orders"],
        "curated": ["interactions"]}


def test_a_misspelled_name_gets_the_closest_and_the_layers_tables() -> None:
    error = unknown_table("clean", "order_line", HELD, "the lake")
    assert str(error) == ("clean.order_line is not in the lake (did you mean 'order_lines'?); "
                          "the clean layer holds: customers, order_lines, orders "
                          "(see 'shipyard lake ls')")


def test_a_table_of_another_layer_names_that_layer() -> None:
    error = unknown_table("clean", "interactions", HELD, "the lake")
    assert "it is in the curated layer: pass --layer curated" in str(error)


def test_only_an_empty_lake_says_to_ingest() -> None:
    empty = {"raw": [], "clean": [], "curated": []}
    assert "which is empty (each environment has its own lake); run 'shipyard ingest' first" in (
        str(unknown_table("raw", "orders", empty, "the lake")))
    assert "'shipyard ingest --env prod' first" in str(
        unknown_table("raw", "orders", empty, "the lake", "prod"))
    assert "ingest" not in str(unknown_table("raw", "nothing", HELD, "the lake"))


def test_opening_a_missing_table_lists_the_present_ones(tmp_path: Path) -> None:
    store = DeltaStore(str(tmp_path))
    store.write("clean", "order_lines", pa.table({"id": [1, 2]}), mode="overwrite", metadata={})
    with pytest.raises(NotFoundError, match=r"clean.order_line is not in dev's lake at .* \(did "
                                            r"you mean 'order_lines'\?\); the clean layer "
                                            r"holds: order_lines"):
        store.open("clean", "order_line")
