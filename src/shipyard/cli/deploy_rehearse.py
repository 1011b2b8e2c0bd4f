"""``shipyard deploy rehearse``: start what an environment's rendered manifests describe, on
this machine, and run a deployment's operations under load (see
:mod:`shipyard.deploy.rehearse`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli.console import console
from shipyard.cli.options import ProjectDir
from shipyard.errors import ConfigError

__all__ = ["rehearse"]


def rehearse(
    env: Annotated[str, typer.Option("--env", "-e", help="Environment whose rendered "
                                     "manifests (deploy/k8s/rendered/ENV.yaml) to rehearse.")],
    replicas: Annotated[int | None, typer.Option(
        help="Replicas to start [default: the HPA's minReplicas].", min=1)] = None,
    secrets: Annotated[Path | None, typer.Option(
        help="KEY=VALUE lines giving the Secret's keys (e.g. team.env) [default: the "
             "environment of this process].", exists=True, dir_okay=False)] = None,
    operation: Annotated[list[str] | None, typer.Option(
        "--operation", "-o", help="pickup, rollout, scale or kill (repeat; default: each "
                                  "one; pickup only with --promote).")] = None,
    promote: Annotated[int | None, typer.Option(
        help="Version of the served model to promote under load (the pickup operation).")
    ] = None,
    model: Annotated[str | None, typer.Option(
        help="The model --promote promotes [default: the one the server serves].")] = None,
    job: Annotated[list[str] | None, typer.Option(
        "--job", help="A CronJob to run once, from an empty folder, before the servers start "
                      "(its name with or without the project's prefix; repeat, in order).")
    ] = None,
    after_job: Annotated[list[str] | None, typer.Option(
        "--after-job", help="A CronJob to run once after the servers have stopped (e.g. "
                            "monitor-check).")] = None,
    customer: Annotated[list[str] | None, typer.Option(
        "--customer", help="Customer whose recommendations the clients ask for (repeat) "
                           "[default: C00001 to C00016].")] = None,
    clients: Annotated[int, typer.Option(help="Concurrent clients through the balancer.",
                                         min=1)] = 16,
    rate: Annotated[float, typer.Option(help="Requests a second each client sends at most.",
                                        min=0.1)] = 5.0,
    figures: Annotated[Path | None, typer.Option(
        help="Write the figures as JSON to this file.", dir_okay=False)] = None,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Run an environment's rendered manifests here: replicas behind HAProxy, rolling update, scale, kill, under load."""  # noqa: E501 - the one line the deploy group shows
    from shipyard.deploy.rehearse import (
        NOT_SHOWN,
        OPERATIONS,
        Rehearsal,
        Settings,
        read_plan,
        shortfalls,
    )
    from shipyard.deploy.rehearse.jobs import run_jobs
    from shipyard.deploy.rehearse.pods import read_env_file

    root = project_dir.resolve()
    values = read_env_file(secrets) if secrets else dict(os.environ)
    plan = read_plan(root, env, values)
    operations = tuple(operation or [o for o in OPERATIONS if o != "pickup" or promote])
    unknown = sorted(set(operations) - set(OPERATIONS))
    if unknown:
        raise ConfigError(f"unknown operation(s) {', '.join(unknown)}: use "
                          f"{', '.join(OPERATIONS)}")
    console.print(f"Rehearsing {plan.rendered.relative_to(root)}: HPA {plan.min_replicas}–"
                  f"{plan.max_replicas} replicas, rolling update maxSurge {plan.max_surge} "
                  f"maxUnavailable {plan.max_unavailable}", highlight=False)
    found = run_jobs(plan, root, values, job or [], console.print)
    settings = Settings(replicas=replicas or plan.min_replicas, operations=operations,
                        promote=promote, model=model, clients=clients, rate=rate)
    if customer:
        settings.customers = tuple(customer)
    result = Rehearsal(plan, root, values, settings,
                       say=lambda line: console.print(line, highlight=False)).run()
    result["jobs"] = {**found, **run_jobs(plan, root, values, after_job or [], console.print)}
    result["load_average"] = [round(v, 2) for v in os.getloadavg()]
    console.print("[bold]Not shown by a rehearsal[/] (only a cluster can):")
    for line in NOT_SHOWN:
        console.print(f"  - {line}", highlight=False)
    if figures:
        figures.parent.mkdir(parents=True, exist_ok=True)
        figures.write_text(json.dumps(result, indent=2) + "\n")
        console.print(f"Figures written to {figures}", highlight=False)
    missed = shortfalls(result)
    for line in missed:
        console.print(f"[red]Short of the goal[/]: {line}", highlight=False)
    if missed:
        raise typer.Exit(1)
