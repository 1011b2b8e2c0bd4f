"""Schema check: a new batch must have the columns and types of the last accepted one.

Types are compared as the Arrow type names recorded with each landed batch, so the comparison is
between what the source gave then and what it gives now, not what Delta normalised on write.
"""

from __future__ import annotations

from collections.abc import Sequence

from shipyard.lake.validation.report import Check

__all__ = ["Columns", "changed_columns", "check_schema"]

Columns = Sequence[tuple[str, str]]
"""(column name, Arrow type name) pairs, in order."""


def _compatible(new: str, old: str) -> bool:
    # A column that was entirely NULL in one batch has no type of its own to compare.
    return new == old or "null" in (new, old)


def _renames(new: Columns, reference: Columns) -> list[tuple[str, str]]:
    """(old, new) name pairs of columns that kept their place and type but not their name."""
    new_names = {name for name, _ in new}
    old_names = {name for name, _ in reference}
    return [
        (old_name, new_name)
        for (old_name, old_type), (new_name, new_type) in zip(reference, new, strict=False)
        if old_name != new_name and old_name not in new_names and new_name not in old_names
        and _compatible(new_type, old_type)
    ]


def check_schema(new: Columns, reference: Columns) -> Check:
    old_types = dict(reference)
    new_types = dict(new)
    renames = _renames(new, reference)
    renamed_old = {old for old, _ in renames}
    renamed_new = {new_name for _, new_name in renames}
    problems = [f"column {old!r} renamed to {new_name!r}" for old, new_name in renames]
    problems += [f"missing column {name!r}" for name in old_types
                 if name not in new_types and name not in renamed_old]
    problems += [f"new column {name!r}" for name in new_types
                 if name not in old_types and name not in renamed_new]
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


def changed_columns(new: Columns, reference: Columns) -> list[str]:
    """Columns of ``new`` whose type differs from the reference: checks that compare values
    with typed literals (ranges, allowed values, distributions) cannot run on them."""
    old_types = dict(reference)
    return [name for name, t in new if name in old_types and not _compatible(t, old_types[name])]
