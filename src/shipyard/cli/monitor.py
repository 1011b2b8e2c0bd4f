"""``shipyard monitor``: is a served model still seeing what it was trained on?

Its subcommands are lazy like the root's (:mod:`shipyard.cli.lazy`): ``shipyard monitor
--help`` imports none of their modules, and a subcommand imports only its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shipyard.cli.console import console
from shipyard.cli.lazy import LazyCommand, LazyGroup
from shipyard.cli.options import Env, ProjectDir
from shipyard.errors import DriftDetected

if TYPE_CHECKING:
    from shipyard.monitoring import DriftReport

__all__ = ["app", "drift", "drift_table"]



class _Commands(LazyGroup):
    """``monitor``'s subcommands, in the order ``--help`` lists them."""

    COMMANDS = (
        LazyCommand("drift", "shipyard.cli.monitor:drift",
                    "Skew (serving inputs vs the training profile) and drift (vs the previous "
                    "window)."),
        LazyCommand("check", "shipyard.cli.monitor_check:check",
                    "Evaluate monitoring.rules; alert the webhooks once per change of state."),
        LazyCommand("outcomes", "shipyard.cli.monitor_outcomes:outcomes",
                    "Hit rate, precision@K and MAP@K of each published set over the orders "
                    "that followed it, beside the popularity baseline; coverage, "
                    "concentration, fallback share."),
        LazyCommand("compact", "shipyard.cli.monitor_log:compact",
                    "Delete log rows older than monitoring.retention_days, compact small "
                    "files, vacuum; remove the reports monitoring.reports no longer keeps."),
        LazyCommand("trace", "shipyard.cli.monitor_log:trace",
                    "From a request id to its rows, model version, training run, lake "
                    "versions, commit."),
    )


app = typer.Typer(help="Watch served models: skew and drift of their inputs and predictions.",
                  cls=_Commands, no_args_is_help=True)


def _number(value: float | None, spec: str = ".3f") -> str:
    return "–" if value is None else format(value, spec)


def drift_table(report: DriftReport) -> Table:
    """One row per column and kind of check; drifted rows first.

    Compact (no vertical rules, a one-word verdict) so that it fits 80 columns, where
    ``make demo``'s output and a CI log are read: the reasons of drifted rows follow it
    (:func:`drift_reasons`), and every reason is in the report.
    """
    table = Table(title=f"{report.model} v{report.version} · window {report.window} · "
                        f"{report.rows:,} rows (previous window {report.previous_rows:,})",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for name in ("column", "kind", "test", "statistic", "p", "PSI", "effect", "nulls"):
        table.add_column(name, no_wrap=name != "column", overflow="fold",
                         min_width=18 if name == "column" else None,
                         justify="left" if name in ("column", "kind", "test") else "right")
    table.add_column("verdict", no_wrap=True)
    for r in _ordered(report):
        t = r.test
        table.add_row(r.column, r.kind, t.test, _number(t.statistic), _number(t.p_value, ".2g"),
                      _number(t.psi), _number(t.effect),
                      f"{t.null_rate[0]:.0%}→{t.null_rate[1]:.0%}",
                      "[red]DRIFT[/]" if t.drifted else "[green]ok[/]")
    return table


def drift_reasons(report: DriftReport) -> list[str]:
    """Why each drifted row drifted, one line each, in the table's order."""
    return [f"  {r.column} ({r.kind}): {r.test.reason}" for r in _ordered(report)
            if r.test.drifted]


def _ordered(report: DriftReport) -> list[Any]:
    return sorted(report.results, key=lambda r: (not r.test.drifted, r.kind))


def drift(
    model: Annotated[str, typer.Argument(help="Registered model name.")],
    window: Annotated[str | None, typer.Option(
        help="Length of the serving window: 30m, 12h, 7d, 2w [default: monitoring.window, "
             "7d].")] = None,
    since: Annotated[str | None, typer.Option(
        help="Start of the window (ISO 8601, UTC unless a zone is given); default: it ends "
             "now.")] = None,
    fail_on_drift: Annotated[bool, typer.Option(
        "--fail-on-drift", help="Exit 5 when drift is found (for scripts and CI).")] = False,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Skew (serving inputs vs the training profile) and drift (vs the previous window)."""
    from shipyard.monitoring import (
        check_drift,
        parse_duration,
        parse_since,
        record_drift,
        write_report,
    )
    from shipyard.project import Project

    project = Project.open(project_dir, env)
    length = parse_duration(window or project.config.monitoring.window)
    start = None if since is None else parse_since(since)
    with Progress(TextColumn("reading the prediction log"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("log", total=None)
        report = check_drift(project, model, length, since=start,
                             progress=lambda done, total: progress.update(
                                 task, completed=done, total=total))
    console.print(drift_table(report))
    for line in drift_reasons(report):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    for note in report.notes:
        console.print(f"  {note}")
    data, page = write_report(project, report)
    console.print(f"report: {page}\n        {data}")
    record_drift(project, report, page)  # alerts the webhooks once per drift episode
    if not report.drifted:
        console.print(f"[green]no drift[/] in model {model} (version {report.version})")
        return
    found = ", ".join(report.drifted_columns)
    shares = "; ".join(f"{kind}: {share:.0%} of inputs" for kind in ("skew", "drift")
                       if (share := report.share(kind)) is not None)
    message = f"drift detected in model {model} version {report.version}: {found} ({shares})"
    if fail_on_drift:
        raise DriftDetected(f"{message}; report: {page}", report=report)
    console.print(f"[red]{message}[/]")

