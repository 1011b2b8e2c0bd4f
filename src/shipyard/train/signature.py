"""A model's input signature from the training data's declared schema, not from a sample.

MLflow infers whether a column may be null from the rows it is shown: an input example of five
passengers that happen to all have an age makes ``age`` required, and the served model then
answers 422 for the 263 passengers without one, depending on the training seed. Types are
still read from the data (the whole test split, so every column has its dtype), but whether a
column may be null is a declaration: a column is nullable unless ``shipyard.yaml`` declares it
``not_null`` in the expectations of the table it comes from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from shipyard.errors import PipelineError
from shipyard.names import Signature

if TYPE_CHECKING:
    from mlflow.models import ModelSignature

    from shipyard.config.schema import ProjectConfig

__all__ = ["conform", "declared_not_null", "input_signature"]


def declared_not_null(config: ProjectConfig) -> frozenset[str]:
    """Columns (by their CLEAN name) that the config declares ``not_null``.

    Expectations name a table's source columns, and CLEAN may rename them; the model reads
    the renamed ones. A name that one table declares ``not_null`` and another declares
    without it is nullable: the model may be fed from either.
    """
    required: set[str] = set()
    nullable: set[str] = set()
    for table in config.tables.values():
        for column, expect in table.validation.expectations.items():
            name = table.clean.rename.get(column, column)
            (required if expect.not_null else nullable).add(name)
    return frozenset(required - nullable)


def input_signature(features: pd.DataFrame, predictions: Any,
                    not_null: frozenset[str]) -> ModelSignature:
    """Signature of a model taking ``features``: types inferred, nullability declared."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ColSpec, Schema, TensorSpec

    inferred = infer_signature(features, predictions)
    columns: list[ColSpec | TensorSpec] = [ColSpec(c.type, c.name, required=c.name in not_null)
               for c in inferred.inputs.inputs]
    return ModelSignature(inputs=Schema(columns), outputs=inferred.outputs)


_NUMBERS = {"double": "a number", "float": "a number", "long": "an integer",
            "integer": "an integer"}


def conform(frame: pd.DataFrame, inputs: Signature, *, where: str,
            model: str) -> pd.DataFrame:
    """``frame`` with the columns of a model's input signature typed as it declares them.

    A file to score is checked here, before the model sees it: scikit-learn meets a text value
    in a number column deep inside a fitted pipeline and fails with a traceback that names
    neither the column nor the row. The error here names the file (``where``), the column,
    the row (counted from 1, the header excluded), the value and the expected type. Text
    columns take any value as its text (a CSV has no types: ``1`` may be a customer id).

    Args:
        frame: Rows as read from the file.
        inputs: (column, MLflow type, required) of the model's signature; empty: unchecked.
        where: The rows' origin, for the message.
        model: The model and version, for the message (``"titanic v3"``).

    Raises:
        PipelineError: A column is missing, a value is not of its column's type, or a
            required column has an empty cell.
    """
    missing = [column for column, _, _ in inputs if column not in frame.columns]
    if missing:
        expected = ", ".join(f"{column} ({kind})" for column, kind, _ in inputs)
        raise PipelineError(f"{where} lacks column(s) {', '.join(missing)}; {model} takes "
                            f"{expected}")
    typed: dict[str, pd.Series] = {}
    for column, kind, required in inputs:
        values = frame[column]
        empty = values.isna()
        if required and empty.any():
            row = int(empty.to_numpy().argmax())
            raise PipelineError(f"{where}: column {column!r} is empty in row {row + 1}; "
                                f"{model} requires a value in every row")
        if kind in _NUMBERS:
            numbers = pd.to_numeric(values, errors="coerce")
            bad = numbers.isna() & ~empty
            if kind in ("long", "integer"):
                bad |= numbers.notna() & (numbers % 1 != 0)
            if bad.any():
                row = int(bad.to_numpy().argmax())
                raise PipelineError(f"{where}: column {column!r}, row {row + 1}: "
                                    f"{values.tolist()[row]!r} is not {_NUMBERS[kind]}; {model} "
                                    f"takes {kind} values there (or an empty cell)")
            typed[column] = numbers
        elif kind == "string":
            typed[column] = values.where(empty, values.astype(str))
    return frame.assign(**typed)
