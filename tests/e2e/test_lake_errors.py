"""``shipyard lake show`` of a table that is not there names the tables that are."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cli import run
from tests.e2e.examples import ExampleProjects


def test_a_misspelled_table_lists_the_layers_tables(tmp_path: Path,
                                                    example_projects: ExampleProjects) -> None:
    shop = example_projects.copy("recommender-small-ingested", tmp_path / "shop")
    done = run("lake", "show", "order_line", cwd=shop, check=1)
    message = " ".join(done.stderr.split())
    assert ("clean.order_line is not in dev's lake (did you mean 'order_lines'?); the clean "
            "layer holds: customers, order_lines, orders, products (see 'shipyard lake ls')"
            ) in message, message
    assert "ingest" not in message
