"""The command shell: init, version, usage errors and exit codes."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cli import run


def test_init_writes_a_project_that_loads_and_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    run("init", "fresh", cwd=tmp_path)
    assert (tmp_path / "fresh" / "shipyard.yaml").is_file()
    listing = run("lake", "ls", "-p", str(tmp_path / "fresh"), cwd=tmp_path)
    assert "is empty; run 'shipyard ingest'" in " ".join(listing.stdout.split())
    again = run("init", "fresh", cwd=tmp_path, check=2)
    assert "is not empty" in again.stderr


def test_version_and_usage_errors(tmp_path: Path) -> None:
    assert run("--version", cwd=tmp_path).stdout.startswith("shipyard ")
    assert run("lake", "history", cwd=tmp_path, check=2).returncode == 2
    missing = run("ingest", cwd=tmp_path, check=2)
    assert "no shipyard.yaml" in missing.stderr and "shipyard init" in missing.stderr


def test_unreachable_source_names_the_database_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(
        "project: p\nenvironments: {dev: {lake: lake}}\n"
        "sources: {erp: {url: 'postgresql+psycopg://nobody@127.0.0.1:1/nowhere'}}\n"
        "tables: {orders: {source: erp, table: orders}}\n"
    )
    done = run("ingest", cwd=tmp_path, check=1)
    text = " ".join(done.stderr.split())
    assert "sources.erp: cannot connect to postgresql+psycopg://nobody@127.0.0.1:1/nowhere" in text
    assert "Check that the server is running" in text
    assert not (tmp_path / "lake").exists()
