"""``shipyard deploy``: from a project folder to files a cluster and a CI service can run.

The group is lazy like the root command: each subcommand is a :class:`LazyCommand` line in
``_DeployCommands.COMMANDS`` naming ``module:function``, so a subcommand kept in its own module
(``smoke``) is added by one line here and imports nothing until it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from shipyard.cli.console import console
from shipyard.cli.lazy import LazyCommand, LazyGroup
from shipyard.cli.options import ProjectDir

if TYPE_CHECKING:
    from shipyard.deploy import ValidationReport
    from shipyard.project import Project

__all__ = ["app", "build", "validate"]


class _DeployCommands(LazyGroup):
    """The deploy subcommands, in the order ``shipyard deploy --help`` lists them."""

    COMMANDS = (
        LazyCommand("build", "shipyard.cli.deploy:build",
                    "Write the image definition, Kubernetes manifests and CI workflows into "
                    "deploy/."),
        LazyCommand("validate", "shipyard.cli.deploy:validate",
                    "Check deploy/ offline: Kubernetes schemas, the GitHub workflow schema, "
                    "Shipyard's policies."),
        LazyCommand("smoke", "shipyard.cli.deploy_smoke:smoke",
                    "Check a running server over HTTP: health, keys, served versions, right and "
                    "wrong inputs."),
        LazyCommand("rehearse", "shipyard.cli.deploy_rehearse:rehearse",
                    "Run an environment's rendered manifests here: replicas behind HAProxy, "
                    "rolling update, scale, kill, under load."),
    )


app = typer.Typer(cls=_DeployCommands, no_args_is_help=True,
                  help="Container image, Kubernetes manifests and CI/CD workflows of the project.")


def build(
    env: Annotated[list[str] | None, typer.Option(
        "--env", "-e", help="Environment to write an overlay for (repeat; default: each one "
                            "whose stores are all servers, and those in deploy.environments)."
    )] = None,
    wheel: Annotated[bool, typer.Option(
        "--wheel", help="Build the running Shipyard's wheel into deploy/wheels/ for the image "
                        "(instead of installing shipyard from the index).")] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Write the image definition, Kubernetes manifests and CI workflows into deploy/."""
    from shipyard.deploy import build_deploy

    project = _project(project_dir)
    written = build_deploy(project, envs=env or None, wheel=wheel)
    for line in written.summary():
        console.print(line, highlight=False)
    for warning in written.warnings:
        console.print(f"[yellow]note[/] {warning}", highlight=False)
    console.print(f"Next: {project.command('deploy validate')}", highlight=False)


def validate(
    kubernetes_version: Annotated[str | None, typer.Option(
        help="Kubernetes version whose schemas the manifests are checked against [default: "
             "deploy.kubernetes_version].")] = None,
    project_dir: ProjectDir = Path("."),
    env: Annotated[list[str] | None, typer.Option(
        "--env", "-e", help="Check only this environment's overlay (repeat; default: every "
                            "overlay in deploy/k8s/overlays).")] = None,
) -> None:
    """Check deploy/ offline: Kubernetes schemas, the GitHub workflow schema, Shipyard's policies."""
    from shipyard.deploy import validate_deploy
    from shipyard.errors import DeployInvalid

    project = _project(project_dir)
    report = validate_deploy(project, kubernetes_version=kubernetes_version, envs=env or None)
    console.print(checks_table(report))
    for problem in report.problems:
        console.print(f"[red]✗[/] {problem}", highlight=False, soft_wrap=True)
    if report.problems:
        raise DeployInvalid(f"{len(report.problems)} problem(s) in {report.root}; fix them, "
                            f"or run {project.command('deploy build')} again")
    console.print(f"[green]✓[/] {report.summary()}", highlight=False)


def checks_table(report: ValidationReport) -> Table:
    """One row per check: what, on what, how many items, and the verdict."""
    table = Table(title=f"deploy validate · {report.root}")
    for name in ("check", "on", "items", "result"):
        table.add_column(name, justify="right" if name == "items" else "left")
    for check in report.checks:
        verdict = f"[red]{len(check.problems)} problem(s)[/]" if check.problems else "[green]ok[/]"
        table.add_row(check.name, check.target, str(check.items), verdict)
    return table


def _project(project_dir: Path) -> Project:
    """The project, opened in no environment's stores: deploy files are written and checked
    without the variables the pods get (a laptop or CI has no team Secret)."""
    from shipyard.config import load_config
    from shipyard.hints import DEFAULT_ENV
    from shipyard.project import Project

    root = project_dir.resolve()
    config = load_config(root)
    env = DEFAULT_ENV if DEFAULT_ENV in config.environments else next(iter(config.environments))
    return Project(root=root, config=config, env_name=env)
