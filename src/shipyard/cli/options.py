"""Options every command takes: the project folder and the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["Env", "ProjectDir"]

ProjectDir = Annotated[
    Path,
    typer.Option("--project", "-p", help="Project folder (holds shipyard.yaml).",
                 file_okay=False),
]
Env = Annotated[str, typer.Option("--env", "-e", help="Environment declared in shipyard.yaml.")]
