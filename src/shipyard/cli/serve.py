"""``shipyard serve``: the production models and recommendations over HTTP."""

from __future__ import annotations

import errno
import signal
import socket
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from shipyard.cli.console import console
from shipyard.cli.options import Env, ProjectDir
from shipyard.errors import ShipyardError
from shipyard.project import Project

__all__ = ["listen", "serve"]


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
    wrong_keys_burst: Annotated[int | None, typer.Option(
        help="Wrong API keys one client address may send at once before 429 (default: "
             "serving.wrong_keys_burst).")] = None,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Serve predictions, recommendations and pipeline triggers (FastAPI on uvicorn)."""
    import uvicorn

    from shipyard.serving import ApiKeys, create_app
    from shipyard.serving.drain import DrainingHttp
    from shipyard.serving.wrong_keys import WrongKeys

    project = Project.open(project_dir, env)
    overrides = {k: v for k, v in {"max_concurrency": max_concurrency, "max_queue": max_queue,
                                   "poll_s": poll, "shutdown_grace_s": shutdown_grace,
                                   "wrong_keys_burst": wrong_keys_burst}.items() if v is not None}
    config = project.config.serving.model_copy(update=overrides)
    keys = ApiKeys.load(api_keys_file, WrongKeys.of(config))
    listener = listen(host, port)  # before anything slow: a busy port is said at once
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
    # On SIGTERM uvicorn stops listening, drains the connections (DrainingHttp), lets the
    # requests in flight finish (cut after the grace period), then the app's lifespan stops
    # the batchers and flushes the prediction log.
    server = uvicorn.Server(uvicorn.Config(
        app, log_level="warning", access_log=False, http=DrainingHttp,
        timeout_graceful_shutdown=config.shutdown_grace_s))
    server.run(sockets=[listener])
    if not server.started:  # the app's start-up failed; uvicorn logged why
        raise ShipyardError("the server did not start: see the error above")


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port``, or a usage error naming the option to change:
    checked first, so that a busy port is not found after the start-up's output, and kept,
    so that nothing can take the port between the check and the server's start."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (socket.gaierror, UnicodeError) as error:
        raise typer.BadParameter(f"cannot resolve {host!r} ({error}); give an address of "
                                 f"this host, e.g. 127.0.0.1 or 0.0.0.0",
                                 param_hint="'--host'") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT is fine
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise typer.BadParameter(
                f"port {port} on {host} is already in use (another 'shipyard serve'? 'ss -ltnp "
                f"sport = :{port}' shows which process has it): stop that process, or serve on "
                f"another port with --port", param_hint="'--port'") from None
        raise typer.BadParameter(f"cannot listen on {host}:{port}: {error.strerror} (a port "
                                 f"under 1024 needs privileges; the host must be an address "
                                 f"of this machine)", param_hint="'--port'") from None
    sock.set_inheritable(True)
    return sock


def _stopped(signum: int, frame: FrameType | None) -> None:
    """SIGTERM outside uvicorn's own handler: during start-up, or raised again by uvicorn once
    it has shut down gracefully (it re-raises the signal it stopped on, with the handler it
    found). Either way the server ends as asked, and a drained server exits 0, not as killed."""
    raise SystemExit(0)
