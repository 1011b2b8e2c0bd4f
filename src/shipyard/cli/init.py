"""``shipyard init``: a project folder, filled in from a source when given one.

What is missing is asked for when a person runs it in a terminal; a script or CI passes the
options, and ``init DIR`` with no source writes the commented template as before.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from shipyard.cli.console import console
from shipyard.config.schema import is_file_source
from shipyard.errors import ConfigError
from shipyard.project_scaffold import (
    KINDS,
    Scaffold,
    check_columns,
    identifier,
    source_columns,
    write_scaffold,
)
from shipyard.project_template import write_template

__all__ = ["init_project"]


def _ask(value: str | None, question: str, *, default: str | None = None) -> str | None:
    """``value``, or the answer to ``question`` when a person is at the terminal."""
    if value or not sys.stdin.isatty():
        return value or default
    return str(typer.prompt(question, default=default)) or None


def init_project(directory: Path, *, source: str | None, tables: list[str], kind: str | None,
                 target: str | None, user: str | None, item: str | None, time: str | None,
                 key: list[str], name: str | None) -> None:
    """Write the project (see the module docstring) and say what to run next."""
    source = _ask(source, "Source: a SQLAlchemy URL or a CSV/Parquet file (empty: a template "
                          "to fill in)", default="")
    if not source:
        write_template(directory)
        console.print(f"New project written to {directory}; declare sources and tables in it, "
                      f"then run 'shipyard ingest' (or run 'shipyard init DIR --source FILE' "
                      f"to have them written).")
        return
    resolved = str(Path(source).resolve()) if is_file_source(source) else source
    if is_file_source(source):
        tables = [identifier(Path(source).name.split(".")[0])]
    elif not tables:
        answer = _ask(None, "Tables to ingest (comma-separated; the model learns from the first)")
        tables = [t.strip() for t in (answer or "").split(",") if t.strip()]
        if not tables:
            raise ConfigError("--table NAME: which table of the source to ingest")
    kind = _ask(kind, f"Kind of model ({' or '.join(KINDS)})", default="classifier")
    if kind not in KINDS:
        raise ConfigError(f"--model {kind}: Shipyard trains a {', a '.join(KINDS[:-1])} or a "
                          f"{KINDS[-1]}")
    columns = source_columns(resolved, tables[0])
    listed = ", ".join(columns)
    if kind != "recommender":
        target = _ask(target, f"Target column ({listed})")
    else:
        user = _ask(user, f"User column ({listed})")
        item = _ask(item, f"Item column ({listed})")
        time = _ask(time, f"Time column ({listed})")
    written = os.path.relpath(resolved, directory.resolve()) if is_file_source(source) \
        else source  # a file beside the project stays found when both move together
    scaffold = Scaffold(source=written, tables=tables, kind=kind,  # type: ignore[arg-type]
                        target=target, user=user, item=item, time=time, key=key,
                        model=name or "")
    check_columns(scaffold, columns)  # before anything is written
    write_template(directory)  # the folder, .gitignore, and a refusal over an existing project
    write_scaffold(directory, identifier(directory.resolve().name), scaffold)
    console.print(f"New project written to {directory}: shipyard.yaml (source {resolved}, "
                  f"tables {', '.join(tables)}, {kind} {scaffold.model_name}) and pipeline.py.")
    console.print(f"Next: cd {directory} && shipyard ingest && shipyard run train && "
                  f"shipyard models promote {scaffold.model_name} 1 --reason \"first\"")
