"""``shipyard deploy smoke URL``: the HTTP API tests against a running server, as a table."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table

from shipyard.cli.console import console
from shipyard.errors import ConfigError

__all__ = ["smoke"]


def smoke(
    url: Annotated[str, typer.Argument(help="Base URL of the server, e.g. https://api.example.com.")],
    api_key_env: Annotated[str, typer.Option(
        help="Environment variable that holds the API key (never the key itself).")
    ] = "SHIPYARD_API_KEY",
    customer: Annotated[str | None, typer.Option(
        help="A customer with published recommendations (checked for a non-empty list).")
    ] = None,
    wait: Annotated[float, typer.Option(
        help="Seconds to wait for /ready to answer 200 first (a deploy still starting).", min=0)
    ] = 0.0,
    timeout: Annotated[float, typer.Option(help="Seconds per request.", min=0.1)] = 30.0,
) -> None:
    """Check a running server over HTTP: health, keys, served versions, right and wrong inputs."""
    from shipyard.deploy.smoke import SmokeTest, wait_ready

    key = os.environ.get(api_key_env, "")
    if not key:
        raise ConfigError(f"no API key in ${api_key_env}: export {api_key_env}=KEY (one of the "
                          f"server's SHIPYARD_API_KEYS), or name another variable with "
                          f"--api-key-env")
    if wait:
        with console.status(f"waiting up to {wait:g} s for {url}/ready…"):
            wait_ready(url, key, wait)
    table = Table(title=f"shipyard deploy smoke {url}")
    for column in ("check", "result", "detail"):
        table.add_column(column)
    failed = 0
    for check in SmokeTest(url, key, customer=customer, timeout_s=timeout).run():
        failed += not check.ok
        table.add_row(check.name, "[green]ok[/]" if check.ok else "[red]FAILED[/]", check.detail)
    console.print(table)
    if failed:
        console.print(f"[red]{failed} check(s) failed[/] against {url}")
        raise typer.Exit(1)
    console.print(f"[green]All {table.row_count} checks passed[/] against {url}")
