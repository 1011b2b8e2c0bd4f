"""Schema check: a new batch must have the columns and types of the last accepted one.

Types are compared as the Arrow type names recorded with each landed batch, so the comparison is
between what the source gave then and what it gives now, not what Delta normalised on write.
"""

from __future__ import annotations

from collections.abc import Sequence

from shipyard.lake.validation.report import Check

__all__ = ["Columns", "check_schema"]

Columns = Sequence[tuple[str, str]]
"""(column name, Arrow type name) pairs, in order."""


def _compatible(new: str, old: str) -> bool:
    # A column that was entirely NULL in one batch has no type of its own to compare.
    return new == old or "null" in (new, old)


def check_schema(new: Columns, reference: Columns) -> Check:
    old_types = dict(reference)
    new_types = dict(new)
    problems = [f"missing column {name!r}" for name in old_types if name not in new_types]
    problems += [f"new column {name!r}" for name in new_types if name not in old_types]
    problems += [
        f"column {name!r} changed type from {old_types[name]} to {t}"
        for name, t in new_types.items()
        if name in old_types and not _compatible(t, old_types[name])
    ]
    if problems:
        return Check(
            name="schema",
            passed=False,
            message="; ".join(problems) + " (a deliberate change is landed with 'quarantine accept')",
            test="schema",
        )
    return Check(name="schema", passed=True, message=f"{len(new_types)} columns, same types")
