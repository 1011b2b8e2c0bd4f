"""``shipyard loadtest URL``: bounded load against a running server, with a latency report."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from shipyard.cli.console import console
from shipyard.errors import StoreUnreachable

__all__ = ["loadtest"]

_PREDICT = re.compile(r"^(?P<base>https?://[^/]+)/v1/models/(?P<name>[^/]+)/predict$")


def _payload(url: str, payload: Path | None, headers: dict[str, str]) -> Any:
    if payload is not None:
        return json.loads(payload.read_text())
    found = _PREDICT.match(url)
    if found is None:
        return None
    example = f"{found['base']}/v1/models/{found['name']}/example"
    try:
        response = httpx.get(example, headers=headers, timeout=10)
    except httpx.HTTPError as error:
        raise StoreUnreachable(f"nothing answers at {found['base']} ({error}); start the server "
                               f"('shipyard serve') or correct the URL") from None
    if response.status_code != 200:
        raise typer.BadParameter(f"no --payload given and {example} answered "
                                 f"{response.status_code}", param_hint="--payload")
    return response.json()


def loadtest(
    url: Annotated[str, typer.Argument(help="URL to load, e.g. http://127.0.0.1:8000/v1/...")],
    concurrency: Annotated[int, typer.Option(help="Connections in parallel.", min=1)] = 8,
    duration: Annotated[float | None, typer.Option(help="Seconds (at most 600).", min=0.1,
                                                   max=600)] = None,
    requests: Annotated[int | None, typer.Option(help="Stop after this many requests.",
                                                 min=1)] = None,
    payload: Annotated[Path | None, typer.Option(
        help="JSON body to POST (default for a predict URL: the model's example).")] = None,
    api_key: Annotated[str | None, typer.Option(
        envvar="SHIPYARD_API_KEY", help="Sent as a Bearer token (env SHIPYARD_API_KEY).")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the report as JSON here.")] = None,
) -> None:
    """Send bounded load and report requests/s, p50/p95/p99 and every status code."""
    from shipyard.serving.loadtest import run_load

    if duration is None and requests is None:
        duration = 10.0
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = _payload(url, payload, headers)
    with console.status(f"{concurrency} connections → {url}"):
        report = run_load(url, concurrency=concurrency, duration_s=duration, requests=requests,
                          payload=body, headers=headers)
    summary = report.summary()
    table = Table(title=f"loadtest {url}")
    for column in ("requests", "seconds", "req/s", "p50 ms", "p95 ms", "p99 ms", "statuses"):
        table.add_column(column, justify="right")
    table.add_row(f"{summary['requests']:,}", f"{summary['seconds']:.1f}", f"{summary['rps']:,.1f}",
                  f"{summary['p50_ms']:.1f}", f"{summary['p95_ms']:.1f}",
                  f"{summary['p99_ms']:.1f}",
                  ", ".join(f"{k}: {v:,}" for k, v in sorted(summary["statuses"].items())))
    console.print(table)
    if out is not None:
        out.write_text(json.dumps(summary, indent=2))
        console.print(f"Report: {out}")
    if os.environ.get("SHIPYARD_LOADTEST_STRICT") and report.failures:
        raise typer.Exit(1)
