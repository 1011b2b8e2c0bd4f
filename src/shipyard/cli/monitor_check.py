"""``shipyard monitor check``: evaluate ``monitoring.rules`` once, alert changes of state."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from shipyard.cli.console import console
from shipyard.cli.options import Env, ProjectDir
from shipyard.errors import RulesFiring

if TYPE_CHECKING:
    from shipyard.monitoring import CheckOutcome
    from shipyard.project import Project

__all__ = ["check", "check_table", "show_outcome"]

_STYLE = {"ok": "[green]ok[/]", "firing": "[red]firing[/]", "unknown": "[yellow]unknown[/]"}


def check_table(outcome: CheckOutcome) -> Table:
    """One row per rule: what was measured against what, and its state with why."""
    table = Table(title="monitoring rules")
    for name in ("rule", "value", "threshold", "state"):
        table.add_column(name, no_wrap=True, justify="right" if name in ("value", "threshold")
                         else "left")
    table.add_column("why", ratio=1)
    for r in outcome.results:
        table.add_row(r.rule, r.shown, r.threshold, _STYLE[r.state], r.why)
    return table


def show_outcome(project: Project, outcome: CheckOutcome) -> None:
    """The table, then what was alerted and what was retrained: each version the retraining
    registered with its gate and its comparison with production, as ``shipyard run`` shows."""
    from shipyard.cli.models import print_registered

    console.print(check_table(outcome))
    if outcome.changed:
        console.print(f"state changed: {', '.join(outcome.changed)}; alerts delivered: "
                      f"{outcome.delivered}")
    for run in outcome.retrains:
        console.print(f"on_drift: ran {run.pipeline}: {run.status}"
                      + (f" (run {run.run_id})" if run.run_id else "")
                      + (f": {run.message}" if run.message else ""))
        for registered in run.registered:
            print_registered(project, registered)


def check(
    fail_on_firing: Annotated[bool, typer.Option(
        "--fail-on-firing", help="Exit 6 when a rule is firing (for scripts and CI).")] = False,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Evaluate monitoring.rules; alert the webhooks once per change of state."""
    from shipyard.monitoring import check_rules
    from shipyard.project import Project

    project = Project.open(project_dir, env)
    if not project.config.monitoring.rules:
        console.print("No rules: declare them under monitoring.rules in shipyard.yaml, e.g. "
                      "'- {kind: lake_age, threshold: 26h}'.")
        return
    outcome = check_rules(project)
    show_outcome(project, outcome)
    firing = [r.rule for r in outcome.firing]
    if firing and fail_on_firing:
        raise RulesFiring(f"{len(firing)} rule(s) firing: {', '.join(firing)}")
    console.print(f"{len(firing)} of {len(outcome.results)} rule(s) firing" if firing
                  else f"[green]no rule firing[/] ({len(outcome.results)} checked)")
