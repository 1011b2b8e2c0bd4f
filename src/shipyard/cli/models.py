"""``shipyard models``: registered versions, their comparison, promotion and rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shipyard.cli.console import console
from shipyard.cli.options import Env, ProjectDir
from shipyard.errors import NotFoundError
from shipyard.names import FLAVOR, PRODUCTION, RUN_ID, STAGING
from shipyard.project import Project
from shipyard.registry import (
    AuditTrail,
    Comparison,
    Registered,
    Registry,
    compare_versions,
    comparison_key,
    promote,
    rollback,
)
from shipyard.registry.client import GATE, STATUS, gate_passed
from shipyard.train.compiled import SERVED_BY
from shipyard.train.metrics import GREATER_IS_BETTER

__all__ = ["app", "comparison_table", "print_registered"]

app = typer.Typer(help="Registered models: list, show, compare, promote, roll back.",
                  no_args_is_help=True)

STATUS_STYLE = {"production": "bold green", "staging": "cyan", "rejected": "red",
                "archived": "dim", "rolled_back": "yellow"}


def comparison_table(c: Comparison) -> Table:
    """Metrics side by side; positive improvement is better for every metric. A classifier or
    a regressor (whose metrics are those of GREATER_IS_BETTER) is scored on rows, a
    recommender on users."""
    table = Table(title=f"{c.model}: v{c.challenger} (challenger) vs v{c.champion} (champion), "
                        f"{c.rows} {'rows' if c.primary_metric in GREATER_IS_BETTER else 'users'}",
                  caption=f"{_evaluated_on(c)}\n95% CI: {c.resamples} paired bootstrap "
                          f"resamples; gain > 0 is better for every metric")
    for column in ("metric", f"v{c.challenger}", f"v{c.champion}", "gain", "95% CI",
                   "verdict"):
        table.add_column(column, justify="left" if column in ("metric", "verdict") else "right",
                         no_wrap=True)
    for m in c.metrics:
        style = {"better": "green", "worse": "red"}.get(m.verdict, "default")
        name = f"{m.metric} (primary)" if m.metric == c.primary_metric else m.metric
        table.add_row(name, f"{m.challenger:.3f}", f"{m.champion:.3f}", f"{m.improvement:+.3f}",
                      f"[{m.ci_low:+.3f}, {m.ci_high:+.3f}]", f"[{style}]{m.verdict}[/]")
    return table


def _evaluated_on(c: Comparison) -> str:
    """Which rows both versions were scored on, as the report records them."""
    if c.evaluation is None:
        return "rows: the challenger's test rows (recorded before Shipyard left out the champion's)"
    from shipyard.registry.evaluation import EvaluationSet

    return "evaluated on " + EvaluationSet(**c.evaluation).describe()


def print_registered(project: Project, outcome: Registered) -> None:
    """What the registry did with a model a run trained."""
    gate = "; ".join(map(str, outcome.gate)) or "no gate declared"
    console.print(f"[green]Model {outcome.name} version {outcome.version}[/] registered; "
                  f"gate passed ({gate}) → alias [cyan]staging[/]")
    if outcome.comparison is not None:
        console.print(comparison_table(outcome.comparison))
        console.print(f"  comparison report: {outcome.report}")
    if outcome.refused is not None:
        console.print(f"  [yellow]not compared with production[/]: {outcome.refused}")
    for note in outcome.notes:
        console.print(f"  {note}")
    if outcome.promotion is not None:
        console.print("  [bold green]promoted to production[/] by policy (promote: auto)")
        print_served(project, outcome.name, outcome.version)
    else:
        promote = project.command(f'models promote {outcome.name} {outcome.version} '
                                  f'--reason "..."')
        console.print(f"  next: {promote}")


def print_served(project: Project, name: str, version: int) -> None:
    """After production moved to ``version``: a recommender's set published, or which set is
    still served and how to publish the new one."""
    from shipyard.batch.served_set import after_production_moved

    served = after_production_moved(project, name, version)
    if served is not None:
        console.print(f"  recommendations: {served.message}")


def _gate(tags: dict[str, str]) -> str:
    """The gate column: passed, failed, or why there is no outcome yet."""
    if gate_passed(tags):
        return "[green]passed[/]"
    if tags.get(GATE) == "failed" or tags.get(STATUS) == "rejected":
        return "[red]failed[/]"
    return "[yellow]not run (registration interrupted; rerun its pipeline)[/]"


def _served_by(tags: dict[str, str]) -> str:
    if tags.get(FLAVOR, "sklearn") != "sklearn":
        return f"its {tags['shipyard.flavor']} model"
    return tags.get(SERVED_BY, "sklearn (registered before ONNX conversion)")


@app.command("ls")
def list_models(project_dir: ProjectDir = Path("."), env: Env = "dev") -> None:
    """Registered models with their production and staging versions."""
    project = Project.open(project_dir, env)
    registry = Registry.of(project)
    table = Table(title=f"models of {project.config.project} ({env})")
    for column in ("model", "versions", "production", "staging", "latest"):
        table.add_column(column)
    for name in registry.names():
        versions = registry.versions(name)
        latest = versions[0]
        production, staging = registry.alias(name, PRODUCTION), registry.alias(name, STAGING)
        table.add_row(name, str(len(versions)), f"v{production}" if production else "-",
                      f"v{staging}" if staging else "-",
                      f"v{latest.version} ({latest.tags.get(STATUS, 'registered')})")
    console.print(table if table.row_count else
                  f"No registered models in {env} yet (models are registered per environment: "
                  f"{project.where('registry')}); "
                  f"'{project.command('run PIPELINE')}' trains and registers them.")


@app.command()
def show(name: Annotated[str, typer.Argument(help="Registered model name.")],
         project_dir: ProjectDir = Path("."), env: Env = "dev") -> None:
    """Every version (status, aliases, metrics, lineage) and the audit trail."""
    project = Project.open(project_dir, env)
    registry = Registry.of(project)
    versions = registry.versions(name)
    config = project.config.models.get(name)
    metrics = sorted({k.removeprefix("metric.") for v in versions for k in v.tags
                      if k.startswith("metric.")})
    table = Table(title=f"{name}" + (f" (primary metric {config.primary_metric})"
                                     if config else ""))
    for column in ("version", "status", "gate", *metrics):
        table.add_column(column, no_wrap=True)
    table.add_column("run", overflow="fold")
    for v in versions:
        status = v.tags.get(STATUS, "registered")
        table.add_row(str(v.version), f"[{STATUS_STYLE.get(status, 'default')}]{status}[/]",
                      _gate(v.tags),
                      *(f"{float(v.tags[f'metric.{m}']):.3f}" if f"metric.{m}" in v.tags else ""
                        for m in metrics),
                      v.tags.get(RUN_ID, ""))
    console.print(table)
    for v in versions:  # which path answers each version's predictions (shipyard.train.compiled)
        console.print(f"v{v.version} served by {_served_by(v.tags)}", highlight=False)
    trail = Table(title="audit trail (newest first)")
    for column in ("when (UTC)", "version", "action", "by", "why"):
        trail.add_column(column)
    for e in AuditTrail.of(project).history(name, limit=20):
        trail.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", str(e.version), e.action, e.actor, e.reason)
    console.print(trail)


@app.command()
def compare(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    challenger: Annotated[int | None, typer.Option(
        help="Version to judge (default: the staging version).")] = None,
    champion: Annotated[int | None, typer.Option(
        help="Version to judge it against (default: the production version).")] = None,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Challenger vs champion on the challenger's test rows that the champion was not fitted
    on, with bootstrap 95% intervals; refused when too few are left."""
    project = Project.open(project_dir, env)
    registry = Registry.of(project)
    registry.versions(name)
    challenger = challenger or registry.alias(name, STAGING)
    champion = champion or registry.alias(name, PRODUCTION)
    if challenger is None or champion is None:
        missing = STAGING if challenger is None else PRODUCTION
        raise NotFoundError(f"model {name!r} has no {missing} version; name both with "
                            f"--challenger V --champion V")
    comparison = compare_versions(project, name, challenger, champion)
    console.print(comparison_table(comparison))
    verdict = ("better" if comparison.challenger_wins else "not clearly better")
    console.print(f"v{challenger} is {verdict} on {comparison.primary_metric} than v{champion} "
                  f"(the rule of promote: auto)")
    console.print(f"Report: {project.state.where(comparison_key(name, challenger, champion))}")


@app.command("promote")
def promote_command(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[int, typer.Argument(help="Version to put in production.")],
    reason: Annotated[str, typer.Option(help="Why; kept in the audit trail.")],
    force: Annotated[bool, typer.Option(
        "--force", help="Promote a version that did not pass its gate (audited as "
                        "force_promoted with --reason).")] = False,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Point the alias `production` at VERSION (audited, alerted); only a version that passed
    its gate, unless --force."""
    project = Project.open(project_dir, env)
    moved = promote(project, name, version, reason=reason, force=force)
    before = f" (was v{moved.previous}, now archived)" if moved.previous else ""
    forced = (" [yellow]without a passed gate (--force, audited)[/]"
              if moved.action == "force_promoted" else "")
    console.print(f"[green]{name} version {version} is production[/]{forced}{before}; "
                  f"audit: {project.command(f'models show {name}')}")
    print_served(project, name, version)


@app.command("rollback")
def rollback_command(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    reason: Annotated[str, typer.Option(help="Why; kept in the audit trail.")] = "rollback",
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Point `production` back at the version it held before the current one."""
    project = Project.open(project_dir, env)
    moved = rollback(project, name, reason=reason)
    console.print(f"[yellow]{name}: production rolled back[/] from v{moved.previous} to "
                  f"v{moved.version}; audit: {project.command(f'models show {name}')}")
    print_served(project, name, moved.version)
