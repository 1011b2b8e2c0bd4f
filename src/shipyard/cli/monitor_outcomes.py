"""``shipyard monitor outcomes``: did customers buy what the recommender published?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shipyard.cli.console import console
from shipyard.cli.options import Env, ProjectDir

__all__ = ["outcomes"]


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def outcomes(
    model: Annotated[str, typer.Argument(help="Recommender model name.")] = "recommender",
    project_dir: ProjectDir = Path("."),
    env: Env = "dev",
) -> None:
    """Hit rate, precision@K and MAP@K of each published set over the orders that followed it,
    beside the popularity baseline; coverage, concentration, fallback share."""
    from shipyard.monitoring import check_outcomes, report_dir, write_outcomes
    from shipyard.project import Project

    project = Project.open(project_dir, env)
    report = check_outcomes(project, model)
    table = Table(title=f"{model}: outcomes of published sets (baseline: most popular)")
    for name in ("published", "v", "period", "buyers", "hit rate", "P@K", "MAP@K",
                 "base hit", "base P@K", "base MAP", "coverage", "top10%", "fallback"):
        table.add_column(name, no_wrap=True, justify="left" if name in ("published", "period")
                         else "right")
    for o in report.outcomes:
        model_scores, base = o.model, o.baseline
        table.add_row(
            f"{o.published:%Y-%m-%d %H:%M}", str(o.version),
            "waiting for data" if o.period is None else f"{o.period[0]} – {o.period[1]}",
            str(o.buyers),
            *(_score(None if s is None else getattr(s, m)) for s in (model_scores, base)
              for m in ("hit_rate", "precision_at_k", "map_at_k")),
            f"{o.coverage:.0%}", f"{o.top_share:.0%}",
            "not logged" if o.fallback_share is None else f"{o.fallback_share:.0%}")
    console.print(table)
    for note in report.notes:
        console.print(f"  {note}")
    data, page = write_outcomes(report, report_dir(project, model))
    console.print(f"report: {page}\n        {data}")
