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

if TYPE_CHECKING:
    from mlflow.models import ModelSignature

    from shipyard.config.schema import ProjectConfig

__all__ = ["declared_not_null", "input_signature"]


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
