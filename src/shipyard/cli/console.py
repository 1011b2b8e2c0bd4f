"""Rich output shared by the commands: one console, report tables, error printing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shipyard.redact import redact_text

if TYPE_CHECKING:  # the validation package loads SciPy: not for every command
    from shipyard.lake.validation import ValidationReport

__all__ = ["console", "err_console", "print_error", "print_traceback", "report_table"]

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(message: str) -> None:
    """``error: message`` on stderr, secrets masked (messages quote URLs and driver errors)."""
    err_console.print("[red]error:[/] " + escape(redact_text(message)))


def print_traceback(text: str) -> None:
    """A bug's traceback on stderr, secrets masked (frames can show connection strings)."""
    err_console.print(redact_text(text), markup=False, highlight=False)


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "" if value is None else format(value, spec)


def report_table(report: ValidationReport, *, failures_only: bool = False) -> Table:
    """The checks of a validation report as a table; failed checks first."""
    verdict = "[green]passed[/]" if report.passed else "[red]rejected[/]"
    table = Table(
        title=f"{report.table} · batch {report.batch_id} · {report.rows:,} rows · {verdict}",
        caption=f"compared with {report.reference}",
    )
    for column in ("check", "column", "test", "effect", "p"):
        table.add_column(column, no_wrap=True)
    table.add_column("result", ratio=1)
    checks = sorted(report.checks, key=lambda c: {False: 0, None: 2}.get(c.passed, 1))
    for check in checks:
        if failures_only and check.passed is not False:
            continue
        mark = {True: "[green]ok[/]", False: "[red]FAIL[/]", None: "[dim]skipped[/]"}[check.passed]
        message = check.message
        if check.examples:
            message += f" e.g. {', '.join(map(str, check.examples))}"
        table.add_row(
            check.name, check.column or "", check.test or "",
            _fmt(check.effect), _fmt(check.p_value, ".2g"), f"{mark} {message}",
        )
    return table
