"""``shipyard lake``: list tables, show a table's versions, read any version back.

A shell over :mod:`shipyard.lake.catalog`, which reads through the lake's newest snapshot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shipyard.cli.console import console
from shipyard.cli.options import Env, ProjectDir
from shipyard.errors import NotFoundError
from shipyard.lake.catalog import batch_selection, published_tables, published_version, unpublished
from shipyard.lake.snapshots import Snapshots
from shipyard.lake.tables import LAYERS, DeltaStore, Layer
from shipyard.project import Project

app = typer.Typer(help="Look at the lake: tables, versions, rows.", no_args_is_help=True)

LayerOpt = Annotated[str, typer.Option("--layer", "-l", help="raw, clean or curated")]


def _layer(value: str) -> Layer:
    if value not in LAYERS:
        raise typer.BadParameter(f"unknown layer {value!r}; expected one of {', '.join(LAYERS)}")
    return value


@app.command("ls")
def ls(project_dir: ProjectDir = Path("."), env: Env = "dev") -> None:
    """Tables in each layer at the lake's current snapshot, with row counts."""
    project = Project.open(project_dir, env)
    store = DeltaStore.of(project)
    snapshots = Snapshots(store)
    snapshot = snapshots.current()
    title = f"lake of {project.config.project} ({env}) at {store.root}"
    if snapshot.id is not None:
        title += f", snapshot {snapshot.id} ({snapshot.created_at:%Y-%m-%d %H:%M:%S} UTC)"
    table = Table(title=title)
    for column in ("layer", "table", "version", "rows", "updated"):
        table.add_column(column, justify="right" if column in ("version", "rows") else "left")
    for t in published_tables(store, snapshot):
        table.add_row(t.layer, t.name, str(t.version), f"{t.rows:,}",
                      f"{t.written:%Y-%m-%d %H:%M:%S}")
    if not table.rows:
        console.print(f"{project.where('lake')} and is empty; run "
                      f"'{project.command('ingest')}' (each environment has its own lake).")
        return
    console.print(table)
    ahead = unpublished(snapshots, snapshot)
    if snapshot.id is not None and ahead:
        console.print(f"Not published: newer versions of {', '.join(ahead)} written by an "
                      f"interrupted ingest; the next '{project.command('ingest')}' of those tables "
                      f"publishes them.")


@app.command("history")
def history(
    name: str, layer: LayerOpt = "raw", project_dir: ProjectDir = Path("."), env: Env = "dev"
) -> None:
    """Versions of a table: time, rows, batch, validation report, source query."""
    project = Project.open(project_dir, env)
    store = DeltaStore.of(project)
    published = published_version(store, _layer(layer), name)
    snapshot_of = Snapshots(store).published_in(_layer(layer), name)
    versions = [v for v in store.history(_layer(layer), name) if v.version <= published]
    table = Table(title=f"{layer}.{name}: {len(versions)} versions", caption=(
        f"validation reports: {project.state.where('reports')}"))
    table.add_column("version", justify="right")
    table.add_column("snapshot", justify="right")
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
            role = {"exception": " (an exception)", "new_normal": " (the new normal)"}
            check = f"accepted by {meta['accepted_by']}{role.get(meta.get('reference_role', ''), '')}"
        else:
            check = f"passed ({Path(meta['report']).name})" if meta.get("report") else ""
        table.add_row(
            str(v.version), str(snapshot_of.get(v.version, "")), f"{v.time:%Y-%m-%d %H:%M}",
            "" if v.rows is None else f"{v.rows:,}", meta.get("batch_id", ""), check,
            batch_selection(meta.get("source_query", "")),
        )
    console.print(table)


@app.command("show")
def show(
    name: str,
    layer: LayerOpt = "clean",
    version: Annotated[int | None, typer.Option(help="Version to read (time travel).")] = None,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 20,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Print the first rows of a table, at the lake's snapshot or any earlier version."""
    project = Project.open(project_dir, env)
    store = DeltaStore.of(project)
    published = published_version(store, _layer(layer), name)
    if version is not None and version > published:
        raise NotFoundError(f"{layer}.{name} version {version} is not published (the lake's "
                            f"snapshot has version {published}); see "
                            f"'{project.command(f'lake history {name} --layer {layer}')}'")
    delta = store.open(_layer(layer), name, published if version is None else version)
    data = delta.to_pyarrow_dataset().head(limit)
    table = Table(title=f"{layer}.{name} version {delta.version()} (first {data.num_rows} rows)")
    for column in data.column_names:
        table.add_column(column)
    for row in data.to_pylist():
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)
