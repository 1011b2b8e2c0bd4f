"""``shipyard monitor outcomes``: did customers buy what the recommender published?"""

from __future__ import annotations

from datetime import timedelta
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
    from shipyard.monitoring import check_outcomes, write_outcomes
    from shipyard.project import Project

    project = Project.open(project_dir, env)
    report = check_outcomes(project, model)
    scores = Table(title=f"{model}: outcomes of published sets · base = popularity baseline "
                         f"on the same customers and period")
    for name in ("set", "period", "buyers", "hit", "base", "P@K", "base", "MAP@K", "base"):
        scores.add_column(name, no_wrap=True, min_width=5, justify="left" if name in (
            "set", "period") else "right")
    catalogue = Table(title="what was recommended, and how requests were answered")
    for name in ("set", "published", "v", "K", "coverage", "top 10%", "Gini", "fallback"):
        catalogue.add_column(name, no_wrap=True, justify="left" if name in ("set", "published")
                             else "right")
    for number, o in enumerate(report.outcomes, start=1):
        period = ("no data yet" if o.period is None
                  else f"{o.period[0] + timedelta(days=1):%m-%d}→{o.period[1]:%m-%d}")
        scores.add_row(f"#{number}", period, str(o.buyers),
                       *(_score(None if s is None else getattr(s, m))
                         for m in ("hit_rate", "precision_at_k", "map_at_k")
                         for s in (o.model, o.baseline)))
        catalogue.add_row(f"#{number}", f"{o.published:%Y-%m-%d %H:%M}", str(o.version),
                          str(o.k), f"{o.coverage:.0%}", f"{o.top_share:.0%}", f"{o.gini:.2f}",
                          "not logged" if o.fallback_share is None
                          else f"{o.fallback_share:.0%}")
    console.print(scores)
    console.print(catalogue)
    for note in report.notes:
        console.print(f"  {note}")
    data, page = write_outcomes(project, report)
    console.print(f"report: {page}\n        {data}")
