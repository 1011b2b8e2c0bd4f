"""Example projects built once per test session and handed to each test as a private copy.

Building an example (``shipyard example``, ``ingest``, ``run train``) is the slowest thing the
end-to-end suite does, and several modules need the same starting point. Each recipe below is
built once for the whole session, across pytest-xdist workers too: the first worker to ask
builds it under a file lock in a folder shared by all workers, the others wait and reuse it.

A project records absolute paths of its own folder (MLflow artifact URIs and the tracking URL
in SQLite, cached step outputs in the run store, report paths in Delta commit info). A copy
therefore has the template's folder rewritten to its own in every SQLite database and text
file, and is then checked: a copy that still mentions the template's folder anywhere fails
the test that asked for it, so a test can never quietly read or write the shared template.
"""

from __future__ import annotations

import fcntl
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.e2e.cli import python, run

SQLITE_MAGIC = b"SQLite format 3\x00"

#: What ``shipyard deploy smoke`` prints when every check passes on the served Titanic example
#: (one count, so a check added to the smoke test is added to every test that runs it).
TITANIC_SMOKE_PASSED = "All 20 checks passed"


def small(root: Path, trials: int = 4) -> None:
    """Fewer tuning trials than the example ships with: the tests are about the flow."""
    config = root / "shipyard.yaml"
    text, found = re.subn(r"^(\s+trials:) \d+", rf"\1 {trials}", config.read_text(),
                          flags=re.MULTILINE)
    assert found, f"{config} sets no tuning trials"
    config.write_text(text)


def add_webhook(root: Path, url: str | None = None) -> None:
    """Declare the webhook the example ships commented out, as its comment tells a user to.

    The examples send nothing by default; a test of alerts turns the commented webhook on in
    its own copy, pointing at ``url`` (a local receiver), or left reading its ``${VAR}``.
    """
    config = root / "shipyard.yaml"
    match = re.search(r"^  webhooks: \[\]\n((?:  # .*\n?)+)", config.read_text(), re.MULTILINE)
    assert match, f"{config} has no commented webhook under 'webhooks: []'"
    block = re.sub(r"^  # ", "  ", match[1], flags=re.MULTILINE)
    if url is not None:
        block, found = re.subn(r"\$\{\w+\}", url, block)
        assert found == 1, block
    text = config.read_text()
    config.write_text(text[:match.start()] + block + text[match.end():])


def _titanic_ingested(projects: ExampleProjects, root: Path) -> None:
    run("example", "titanic", str(root), cwd=root.parent)
    run("ingest", cwd=root)


def _titanic_staged(projects: ExampleProjects, root: Path) -> None:
    projects.copy("titanic-ingested", root)
    small(root)
    run("run", "train", cwd=root)


def _titanic_trained(projects: ExampleProjects, root: Path) -> None:
    projects.copy("titanic-staged", root)
    run("models", "promote", "titanic", "1", "--reason", "first", cwd=root)


def _titanic_two_versions(projects: ExampleProjects, root: Path) -> None:
    projects.copy("titanic-trained", root)
    run("run", "train", "--no-cache", "--params", "seed=7", cwd=root)


def _recommender(projects: ExampleProjects, root: Path) -> None:
    run("example", "recommender", str(root), cwd=root.parent)


def _recommender_ingested(projects: ExampleProjects, root: Path) -> None:
    projects.copy("recommender", root)
    run("ingest", cwd=root)


def _recommender_small_ingested(projects: ExampleProjects, root: Path) -> None:
    projects.copy("recommender", root)
    python("erp.py", "init", "--customers", "300", "--months", "3", cwd=root)
    run("ingest", cwd=root)


def _recommender_published(projects: ExampleProjects, root: Path) -> None:
    projects.copy("recommender-small-ingested", root)
    small(root, trials=2)
    run("run", "train", cwd=root)
    done = run("models", "promote", "recommender", "1", "--reason", "first", cwd=root)
    assert "published set" in done.stdout, done.stdout  # the promotion publishes v1's top 10
    python("erp.py", "next-month", cwd=root)
    run("ingest", cwd=root)


RECIPES: dict[str, Callable[[ExampleProjects, Path], None]] = {
    # the Titanic example as generated, its lake ingested, nothing trained
    "titanic-ingested": _titanic_ingested,
    # … then trained with 4 trials: version 1 staged, no production version
    "titanic-staged": _titanic_staged,
    # … and version 1 promoted to production
    "titanic-trained": _titanic_trained,
    # … and a second gate-passing version (seed 7) staged beside it
    "titanic-two-versions": _titanic_two_versions,
    # the recommender example as generated (its ERP source filled), nothing ingested
    "recommender": _recommender,
    # … and ingested
    "recommender-ingested": _recommender_ingested,
    # the recommender example's source refilled small (300 customers, 3 months), ingested
    "recommender-small-ingested": _recommender_small_ingested,
    # … trained (2 trials), v1 promoted (which publishes its top 10), then the next month
    # ingested
    "recommender-published": _recommender_published,
}


class ExampleProjects:
    """Builds each recipe once under ``shared`` and gives out relocated copies of it."""

    def __init__(self, shared: Path) -> None:
        self.shared = shared
        shared.mkdir(parents=True, exist_ok=True)

    def template(self, kind: str) -> Path:
        """The built template of ``kind``; built now unless a worker already built it."""
        root = self.shared / f"{kind}.template"
        done = self.shared / f"{kind}.built"
        with (self.shared / f"{kind}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not done.exists():
                shutil.rmtree(root, ignore_errors=True)  # a build that failed half-way
                RECIPES[kind](self, root)
                done.touch()
        return root

    def copy(self, kind: str, dest: Path) -> Path:
        """A private copy of the ``kind`` template at ``dest`` (which must not exist)."""
        template = self.template(kind)
        shutil.copytree(template, dest, symlinks=True)
        relocate(dest, str(template), str(dest))
        return dest


def relocate(root: Path, old: str, new: str) -> None:
    """Rewrite ``old`` to ``new`` in every SQLite database and text file under ``root``."""
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        if old.encode() not in data:
            continue
        if data.startswith(SQLITE_MAGIC):
            _relocate_sqlite(path, old, new)
        else:
            try:
                text = data.decode()
            except UnicodeDecodeError as error:
                raise AssertionError(f"{path} is binary and names the template {old}: "
                                     "it cannot be copied safely") from error
            path.write_text(text.replace(old, new))
        if old.encode() in path.read_bytes():
            raise AssertionError(f"{path} still names the template {old} after relocation")


def _relocate_sqlite(path: Path, old: str, new: str) -> None:
    with sqlite3.connect(path) as con:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            columns = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                con.execute(f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '
                            f'WHERE typeof("{column}") = \'text\' AND instr("{column}", ?) > 0',
                            (old, new, old))
    con.close()
    with sqlite3.connect(path) as con:
        con.execute("VACUUM")  # freed pages would still hold the old text
    con.close()
