"""How ``shipyard run`` and ``shipyard runs`` show runs: status colours and the steps table.

Apart from the ``run`` command so that ``runs ls`` and ``runs show`` import Rich and the run
records alone, not what running a pipeline needs (MLflow, scikit-learn: seconds of imports).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from shipyard.db import redact

if TYPE_CHECKING:
    from shipyard.pipeline.results import StepResult

__all__ = ["STATUS_STYLE", "duration", "shown_url", "step_table"]

STATUS_STYLE = {"succeeded": "green", "reused": "cyan", "failed": "red", "skipped": "dim",
                "pending": "dim", "running": "yellow", "registering": "yellow"}


def shown_url(url: str) -> str:
    """A store URL without its password or secret query values."""
    return redact(url)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def step_table(title: str, steps: list[StepResult]) -> Table:
    """Steps of a run: status, duration and why each ran (or where it was reused from)."""
    table = Table(title=title)
    table.add_column("step", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("why", ratio=1)
    for s in steps:
        style = STATUS_STYLE.get(s.status, "")
        why = s.reason if s.error is None else f"{s.reason}; error: {s.error}"
        table.add_row(s.name, f"[{style}]{s.status}[/]", duration(s.duration_s), why)
    return table
