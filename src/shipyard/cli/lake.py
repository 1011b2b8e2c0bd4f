"""``shipyard lake``: list tables, show a table's versions, read any version back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shipyard.cli.console import console
from shipyard.cli.options import Env, ProjectDir
from shipyard.lake.ingest import lake_of
from shipyard.lake.tables import LAYERS, Layer
from shipyard.project import Project

app = typer.Typer(help="Look at the lake: tables, versions, rows.", no_args_is_help=True)

LayerOpt = Annotated[str, typer.Option("--layer", "-l", help="raw, clean or curated")]


def _layer(value: str) -> Layer:
    if value not in LAYERS:
        raise typer.BadParameter(f"unknown layer {value!r}; expected one of {', '.join(LAYERS)}")
    return value  # type: ignore[return-value]


@app.command("ls")
def ls(project_dir: ProjectDir = ".", env: Env = "dev") -> None:
    """Tables in each layer with their newest version and row count."""
    project = Project.open(project_dir, env)
    store = lake_of(project)
    table = Table(title=f"lake of {project.config.project} ({env}) at {store.root}")
    for column in ("layer", "table", "version", "rows", "updated"):
        table.add_column(column, justify="right" if column in ("version", "rows") else "left")
    for layer, names in store.tables().items():
        for name in names:
            delta = store.open(layer, name)
            rows = sum(delta.get_add_actions(flatten=True).column("num_records").to_pylist())
            newest = store.history(layer, name)[0]
            table.add_row(layer, name, str(delta.version()), f"{rows:,}",
                          f"{newest.time:%Y-%m-%d %H:%M:%S}")
    if not table.rows:
        console.print(f"The lake at {store.root} is empty; run 'shipyard ingest'.")
        return
    console.print(table)


def _selection(query: str) -> str:
    """The part of a batch query that says which rows were read (the full query is in
    the batch's report and in 'shipyard quarantine show')."""
    if not query:
        return ""
    upper = query.upper()
    if " WHERE " not in upper:
        return "all"
    start = upper.rindex(" WHERE ") + 7
    end = upper.rfind(" ORDER BY ")
    return query[start:end if end > start else None]


@app.command("history")
def history(
    name: str, layer: LayerOpt = "raw", project_dir: ProjectDir = ".", env: Env = "dev"
) -> None:
    """Versions of a table: time, rows, batch, validation report, source query."""
    project = Project.open(project_dir, env)
    versions = lake_of(project).history(_layer(layer), name)
    table = Table(title=f"{layer}.{name}: {len(versions)} versions", caption=(
        f"validation reports: {project.state_dir / 'reports'}"))
    table.add_column("version", justify="right")
    table.add_column("time (UTC)")
    table.add_column("rows", justify="right")
    table.add_column("batch", justify="right")
    table.add_column("validation" if layer != "curated" else "inputs")
    table.add_column("source rows")
    for v in versions:
        meta = v.metadata
        if layer == "curated":
            check = meta.get("inputs", "")
        elif meta.get("accepted_by"):
            check = f"accepted by {meta['accepted_by']}"
        else:
            check = f"passed ({Path(meta['report']).name})" if meta.get("report") else ""
        table.add_row(
            str(v.version), f"{v.time:%Y-%m-%d %H:%M}",
            "" if v.rows is None else f"{v.rows:,}", meta.get("batch_id", ""), check,
            _selection(meta.get("source_query", "")),
        )
    console.print(table)


@app.command("show")
def show(
    name: str,
    layer: LayerOpt = "clean",
    version: Annotated[int | None, typer.Option(help="Version to read (time travel).")] = None,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 20,
    project_dir: ProjectDir = ".",
    env: Env = "dev",
) -> None:
    """Print the first rows of a table, at its newest or any earlier version."""
    project = Project.open(project_dir, env)
    delta = lake_of(project).open(_layer(layer), name, version)
    data = delta.to_pyarrow_dataset().head(limit)
    table = Table(title=f"{layer}.{name} version {delta.version()} (first {data.num_rows} rows)")
    for column in data.column_names:
        table.add_column(column)
    for row in data.to_pylist():
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)
