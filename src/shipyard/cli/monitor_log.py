"""``shipyard monitor compact`` and ``shipyard monitor trace``: the prediction log's upkeep,
and from one request id to everything that made its answer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shipyard.cli.console import console
from shipyard.cli.options import Env, ProjectDir

__all__ = ["compact", "trace"]


def _shown(value: object) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def compact(
    vacuum_hours: Annotated[int | None, typer.Option(
        min=0, help="Keep replaced files this many hours [default: Delta's retention, 7 days]; "
                    "0 only when no server or reader is using the logs.")] = None,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Delete log rows older than monitoring.retention_days, compact small files, vacuum;
    remove the reports monitoring.reports no longer keeps."""
    from shipyard.monitoring.maintenance import compact_logs
    from shipyard.monitoring.retention import expire_reports
    from shipyard.project import Project

    project = Project.open(project_dir, env)
    done = compact_logs(project, vacuum_hours=vacuum_hours)
    kept = project.config.monitoring.reports
    expired = expire_reports(project)
    limits = " and ".join(limit for limit in (
        f"the newest {kept.keep}" if kept.keep else "", f"{kept.days} days" if kept.days else "")
        if limit) or "everything"
    console.print(f"reports: {expired.removed:,} removed, {expired.kept:,} kept (per model and "
                  f"kind: {limits}; monitoring.reports) in "
                  f"{project.state.where('reports/monitoring')}")
    if not done:
        console.print(f"no prediction or recommendation log in {project.lake_root} yet: "
                      f"nothing to compact")
        return
    table = Table(title=f"logs compacted · retention "
                        f"{project.config.monitoring.retention_days} days")
    for name in ("table", "files before", "files after", "rows removed", "files vacuumed"):
        table.add_column(name, justify="left" if name == "table" else "right",
                         no_wrap=name == "table", overflow="fold")
    for c in done:
        table.add_row(c.table, f"{c.files_before:,}", f"{c.files_after:,}",
                      f"{c.rows_removed:,}", f"{c.files_vacuumed:,}")
    console.print(table)


def trace(
    request_id: Annotated[str, typer.Argument(
        help="The X-Request-ID header of the server's answer.")],
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """From a request id to its rows, model version, training run, lake versions, commit."""
    from shipyard.monitoring.trace import trace as find
    from shipyard.project import Project

    found = find(Project.open(project_dir, env), request_id)
    logged = found.logged
    kind = "recommendations" if logged.is_recommendation else "prediction"
    console.print(f"request {logged.request_id} · {kind} at {logged.time:%Y-%m-%d %H:%M:%S} "
                  f"UTC · model {logged.model} version {logged.version}")
    # one line per field, one column per row: a request has few rows and many inputs
    shown = Table(title=f"logged in {logged.table}")
    shown.add_column("field", no_wrap=True)
    for row in logged.rows:
        shown.add_column(f"row {row['row']}" if "row" in row else "value", overflow="fold")
    hidden = {"time", "day", "request_id", "model", "version", "row"}
    for name in (n for n in logged.rows[0] if n not in hidden):
        shown.add_row(name, *(_shown(row[name]) for row in logged.rows))
    console.print(shown)
    lines = [
        ("training run (MLflow)", found.mlflow_run_id),
        ("pipeline run", f"{found.pipeline_run_id} (pipeline {found.pipeline})"
         if found.pipeline_run_id else None),
        ("lake versions", ", ".join(f"{t} v{v}" for t, v in found.data_versions.items())),
        ("git commit", f"{found.git_commit} (dirty: {found.git_dirty})"
         if found.git_commit else None),
        ("code snapshot", found.code_snapshot),
    ]
    for label, value in lines:
        console.print(f"  {label + ':':<23}{value or 'not recorded'}")
