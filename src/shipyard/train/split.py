"""Train / validation / test splits: random (stratified for a label) or by time.

The validation split is what tuning optimises; the test split is touched once, by the refit
best model, so its metrics are an honest estimate and the gate can trust them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from shipyard.errors import PipelineError
from shipyard.train.rows import row_keys

__all__ = ["Split", "split"]


@dataclass(frozen=True)
class Split:
    """Features and labels of the three parts."""

    X_train: pd.DataFrame
    y_train: pd.Series
    X_val: pd.DataFrame
    y_val: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series

    def frames(self, target: str) -> dict[str, pd.DataFrame]:
        """The three parts as labelled frames, the form a pipeline step can return."""
        return {name: X.assign(**{target: y.to_numpy()}) for name, X, y in (
            ("train", self.X_train, self.y_train), ("validation", self.X_val, self.y_val),
            ("test", self.X_test, self.y_test))}

    @classmethod
    def from_frames(cls, frames: dict[str, pd.DataFrame], target: str) -> Split:
        """Inverse of :meth:`frames`."""
        train, val, test = (frames[name] for name in ("train", "validation", "test"))
        return cls(train.drop(columns=[target]), train[target], val.drop(columns=[target]), val[target],
                   test.drop(columns=[target]), test[target])

    @property
    def X_fit(self) -> pd.DataFrame:
        """Train and validation together, for the refit of the best configuration."""
        return pd.concat([self.X_train, self.X_val])

    @property
    def y_fit(self) -> pd.Series:
        return pd.concat([self.y_train, self.y_val])


def split(frame: pd.DataFrame, target: str, *, test_size: float = 0.2,
          validation_size: float = 0.2, time_column: str | None = None, seed: int = 0,
          drop: list[str] | None = None) -> Split:
    """Split ``frame`` into train, validation and test parts.

    Args:
        frame: One row per example, features and the label.
        target: The label column.
        test_size: Fraction of all rows held out for the final test.
        validation_size: Fraction of all rows used to compare tuning trials.
        time_column: Split by time instead: the latest rows are the test, the ones before
            them the validation, so no model sees the future it is tested on.
        seed: Random split seed (ignored when splitting by time).
        drop: Columns that are not features (ids), removed from X. They identify the rows:
            each part's index is their keys (:func:`shipyard.train.rows.row_keys`; of all
            the row's values without ids), which training records with the model so that a
            comparison can leave out the rows either version was fitted on.

    Raises:
        PipelineError: a named column is missing, or the fractions leave no training rows.
    """
    from sklearn.model_selection import train_test_split  # here: `shipyard.train` is imported
    # for Split by servers, which need no model selection

    missing = [c for c in [target, time_column, *(drop or [])] if c and c not in frame.columns]
    if missing:
        raise PipelineError(f"split: column(s) {', '.join(map(repr, missing))} not in the "
                            f"data; its columns are {', '.join(frame.columns)}")
    if not (0 < test_size < 1 and 0 < validation_size < 1 and test_size + validation_size < 1):
        raise PipelineError(f"split: test_size ({test_size}) and validation_size "
                            f"({validation_size}) must be fractions that sum to less than 1")
    rows = frame.dropna(subset=[target])
    rows.index = row_keys(rows[drop] if drop else rows)
    if time_column is not None:
        rows = rows.sort_values(time_column, kind="stable")
        n = len(rows)
        n_test, n_val = round(n * test_size), round(n * validation_size)
        cut_val, cut_test = n - n_test - n_val, n - n_test
        train, val, test = rows.iloc[:cut_val], rows.iloc[cut_val:cut_test], rows.iloc[cut_test:]
    else:
        labels = rows[target]
        stratify = labels if labels.nunique() <= 20 else None
        rest, test = train_test_split(rows, test_size=test_size, random_state=seed,
                                      stratify=stratify)
        stratify = rest[target] if stratify is not None else None
        train, val = train_test_split(rest, test_size=validation_size / (1 - test_size),
                                      random_state=seed, stratify=stratify)
    features = [c for c in frame.columns if c != target and c not in (drop or [])]

    def xy(part: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
        return part[features], part[target]

    return Split(*xy(train), *xy(val), *xy(test))
