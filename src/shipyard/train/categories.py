"""The categories a fitted model learnt for its input columns, and the values it never saw.

An encoder fitted with ``handle_unknown="ignore"`` scores a category it never saw as if the
column were missing (all zeros), so ``"sex": "alien"`` gets a confident answer without a word.
Both the server (a 422) and ``shipyard predict`` (an error) refuse such values instead, naming
the column, the value and the categories the model knows.

The known categories are read from the fitted model itself, at load time: the ``categories_``
of each encoder (``OneHotEncoder``, ``OrdinalEncoder``, any encoder with that fitted attribute)
that sees an input column as the request gave it: directly, within a ``ColumnTransformer`` or
a ``Pipeline``, or after imputers only (which keep the values, adding their fill value). So
every model registered before this check was written is covered too, and nothing is assumed
of a column an encoder sees only after another transformation (a function could map
``"Male"`` to ``"male"``): such a column is not checked. Missing values are not categories:
whether a column may be empty is the signature's business.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from shipyard.errors import PipelineError

__all__ = ["check_categories", "known_categories", "unknown_category"]

_SHOWN = 20  # known categories listed in a message; a longer list ends with how many more


def known_categories(model: Any) -> dict[str, tuple[Any, ...]]:
    """Input column → the categories ``model``'s encoders learnt for it (sorted); columns no
    encoder sees as given are absent."""
    found: dict[str, set[Any]] = {}
    _walk(model, None, found, set())
    return {column: tuple(sorted(values, key=lambda v: (str(type(v)), v)))
            for column, values in found.items()}


def unknown_category(column: str, value: Any, known: Sequence[Any]) -> str:
    """The message for ``value`` in ``column`` outside ``known``, the same everywhere."""
    listed = ", ".join(repr(v) for v in known[:_SHOWN])
    more = f" and {len(known) - _SHOWN} more" if len(known) > _SHOWN else ""
    return (f"{column}: unknown category {value!r}; the model learnt {listed}{more} for "
            f"{column} in training")


def check_categories(frame: pd.DataFrame, known: Mapping[str, Sequence[Any]], *,
                     where: str) -> None:
    """Refuse ``frame`` if a column holds a category outside ``known`` (as read by
    :func:`known_categories`), naming the rows (counted from 1), column, value and the known
    ones.

    Raises:
        PipelineError: a value outside its column's known categories.
    """
    problems = []
    for column, categories in known.items():
        if column not in frame.columns:
            continue
        allowed = set(categories)
        values = frame[column]
        unknown = values.notna() & ~values.isin(allowed)
        if unknown.any():
            positions = [int(i) for i in unknown.to_numpy().nonzero()[0]]
            value = values.iloc[positions[0]]
            rows = ", ".join(str(p + 1) for p in positions[:5])
            more = f" and {len(positions) - 5} more" if len(positions) > 5 else ""
            problems.append(f"{unknown_category(column, value, categories)} (row(s) "
                            f"{rows}{more})")
    if problems:
        raise PipelineError(f"{where}: {'; '.join(problems)}. Correct the values, or train the "
                            f"model on data that has them")


def _walk(part: Any, columns: list[str] | None, found: dict[str, set[Any]],
          seen: set[int]) -> None:
    """Collect the categories of the encoders in ``part`` that see the input ``columns``
    (None: not known) as given."""
    if id(part) in seen:
        return
    seen.add(id(part))
    categories = getattr(part, "categories_", None)
    if isinstance(categories, list) and hasattr(part, "transform"):  # a fitted encoder
        names = getattr(part, "feature_names_in_", None)
        names = [str(n) for n in names] if names is not None else columns
        if names is not None and len(names) == len(categories):
            for name, values in zip(names, categories, strict=True):
                found.setdefault(name, set()).update(
                    v for v in values.tolist() if not _missing(v))
        return
    transformers = getattr(part, "transformers_", None)  # a fitted ColumnTransformer
    if transformers is not None:
        inputs = [str(n) for n in getattr(part, "feature_names_in_", [])]
        for _, transformer, selected in transformers:
            _walk(transformer, _selected(selected, inputs), found, seen)
        return
    steps = getattr(part, "steps", None)  # a Pipeline: its first steps see the input
    if steps is not None:
        for _, step in steps:
            _walk(step, columns, found, seen)
            if not type(step).__module__.startswith("sklearn.impute"):
                return


def _selected(selected: Any, inputs: list[str]) -> list[str] | None:
    """Column names of a ColumnTransformer's selection (names, positions, a mask, a slice)."""
    if isinstance(selected, str):
        return [selected]
    if isinstance(selected, slice):
        return inputs[selected] if inputs else None
    if not isinstance(selected, Iterable):
        return None
    chosen = list(selected)
    if all(isinstance(c, str) for c in chosen):
        return chosen
    if inputs and all(isinstance(c, bool | np.bool_) for c in chosen):
        return ([name for name, keep in zip(inputs, chosen, strict=True) if keep]
                if len(chosen) == len(inputs) else None)
    if inputs and all(isinstance(c, Integral) for c in chosen):
        return [inputs[int(c)] for c in chosen]
    return None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
