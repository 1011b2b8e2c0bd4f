"""``shipyard ui``: the web UI alone, without the models (``shipyard serve`` serves both)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli.console import console
from shipyard.cli.options import Env

__all__ = ["ui"]


def ui(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8001,
    api_keys_file: Annotated[Path | None, typer.Option(
        help="File with one API key per line, KEY, KEY:viewer or KEY:operator (default: "
             "SHIPYARD_API_KEYS, comma-separated).")] = None,
    project_dir: Annotated[Path, typer.Option(
        "--project", "-p", "--project-dir", help="Project folder (holds shipyard.yaml).",
        file_okay=False)] = Path("."),
    env: Env = "dev",
) -> None:
    """Serve the web UI alone: lake, runs, models, monitoring, recommendations."""
    import uvicorn

    from shipyard.project import Project
    from shipyard.serving.auth import ApiKeys
    from shipyard.serving.wrong_keys import WrongKeys
    from shipyard.ui.app import standalone

    project = Project.open(project_dir, env)
    keys = ApiKeys.load(api_keys_file, WrongKeys.of(project.config.serving))
    app = standalone(project.root, keys, default_env=env)
    console.print(f"[green]Web UI[/] of {project.config.project} ({env}) at "
                  f"http://{host}:{port}/ui/ — sign in with an API key")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
