"""``shipyard serve``: the production models and recommendations over HTTP."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from shipyard.cli.console import console
from shipyard.cli.options import Env, ProjectDir
from shipyard.project import Project

__all__ = ["serve"]


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    api_keys_file: Annotated[Path | None, typer.Option(
        help="File with one API key per line (default: SHIPYARD_API_KEYS, comma-separated).")
    ] = None,
    max_concurrency: Annotated[int | None, typer.Option(
        help="Requests in progress at once (default: serving.max_concurrency).")] = None,
    max_queue: Annotated[int | None, typer.Option(
        help="Requests that may wait beyond that; more get 503 (default: serving.max_queue).")
    ] = None,
    poll: Annotated[float | None, typer.Option(
        help="Seconds between checks of the production alias (default: serving.poll_s).")
    ] = None,
    shutdown_grace: Annotated[int | None, typer.Option(
        help="Seconds in-flight requests get to finish after SIGTERM (default: "
             "serving.shutdown_grace_s).")] = None,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Serve predictions, recommendations and pipeline triggers (FastAPI on uvicorn)."""
    import uvicorn

    from shipyard.serving import ApiKeys, create_app

    keys = ApiKeys.load(api_keys_file)
    project = Project.open(project_dir, env)
    overrides = {k: v for k, v in {"max_concurrency": max_concurrency, "max_queue": max_queue,
                                   "poll_s": poll, "shutdown_grace_s": shutdown_grace,
                                   }.items() if v is not None}
    config = project.config.serving.model_copy(update=overrides)
    with console.status("reading the production models' signatures…"):
        app = create_app(project, keys, config)
    planned = app.state.slots.planned
    models = ", ".join(f"{n} v{version}" for n, (version, _, _) in planned.items())
    base = f"http://{host}:{port}"
    console.print(f"[green]Serving[/] {models or 'no production models yet'} at {base}, "
                  f"loading in the background (/ready says when)  "
                  f"(docs: {base}/docs, with the key as the password; metrics: "
                  f"{base}/metrics)")
    console.print(f"  web UI: {base}/ui (sign in with an API key)", markup=False,
                  highlight=False, soft_wrap=True)
    # Double quotes, so that a pasted line sends the key in $KEY rather than the text "$KEY".
    routes = ["/v1/recommendations/C00042" if flavor == "recommender" else f"/v1/models/{n}/example"
              for n, (_, flavor, _) in planned.items()] or ["/ready"]
    for route in routes:
        console.print(f'  try: curl -H "Authorization: Bearer $KEY" {base}{route}',
                      markup=False, highlight=False, soft_wrap=True)
    signal.signal(signal.SIGTERM, _stopped)
    # On SIGTERM uvicorn stops listening, lets the requests in flight finish (cut after the
    # grace period), then the app's lifespan stops the batchers and flushes the prediction log.
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=config.shutdown_grace_s)


def _stopped(signum: int, frame: FrameType | None) -> None:
    """SIGTERM outside uvicorn's own handler: during start-up, or raised again by uvicorn once
    it has shut down gracefully (it re-raises the signal it stopped on, with the handler it
    found). Either way the server ends as asked, and a drained server exits 0, not as killed."""
    raise SystemExit(0)
