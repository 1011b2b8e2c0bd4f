"""``shipyard recommend`` and ``shipyard predict``: batch inference with production models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli.console import console
from shipyard.cli.options import Env, ProjectDir
from shipyard.db import redact
from shipyard.errors import ConfigError
from shipyard.names import PRODUCTION
from shipyard.project import Project

__all__ = ["predict", "recommend"]


def recommend(
    top: Annotated[int, typer.Option("--top", help="Products per customer.", min=1)] = 10,
    model: Annotated[str | None, typer.Option(
        help="Registered recommender; default serving.recommender when the project declares "
             "that model, else the project's only model.")] = None,
    alias: Annotated[str, typer.Option(help="Which version: its alias.")] = PRODUCTION,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Top-N for every customer → the environment's results DB, swapped in atomically."""
    from shipyard.batch import publish_recommendations

    project = Project.open(project_dir, env)
    model = model or _recommender(project)
    with console.status(f"scoring every customer with {model}@{alias}…"):
        done = publish_recommendations(project, model=model, k=top, alias=alias)
    made = done.set
    console.print(f"[green]{made.customers:,} customers × top {made.k}[/] from {model} "
                  f"v{made.version} in {done.seconds:.2f} s → {redact(done.results_url)} "
                  f"(set {made.id}, now current; earlier sets are kept for 'monitor outcomes')")


def _recommender(project: Project) -> str:
    """The model ``recommend`` publishes when ``--model`` is not given."""
    declared = list(project.config.models)
    named = project.config.serving.recommender
    if named in declared or not declared:
        return named or "recommender"
    if len(declared) == 1:
        return declared[0]
    raise ConfigError(f"which model's recommendations? shipyard.yaml declares {', '.join(declared)}"
                      f" and serving.recommender is {named!r}: pass --model NAME, or set "
                      f"serving.recommender")


def predict(
    model: Annotated[str, typer.Argument(help="Registered model name.")],
    input_path: Annotated[Path, typer.Option("--input", help="CSV or Parquet rows to score.")],
    output: Annotated[Path, typer.Option(help="Where the scored rows go: .csv, .parquet, .json or .jsonl.")],
    alias: Annotated[str, typer.Option(help="Which version: its alias.")] = PRODUCTION,
    version: Annotated[int | None, typer.Option(help="A version number instead.")] = None,
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Score a file with a registered model version."""
    from shipyard.batch.predict import predict_file

    done = predict_file(Project.open(project_dir, env), model, input_path, output, alias=alias,
                        version=version)
    console.print(f"[green]{done.rows:,} rows scored[/] by {model} v{done.version} → {done.output}")
