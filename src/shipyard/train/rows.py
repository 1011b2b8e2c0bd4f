"""Which rows a model was fitted on and tested on, by key: what a fair comparison needs.

A comparison of two versions is fair only on rows neither of them was fitted or tuned on. Rows
are told apart by a 64-bit key: the hash of their id columns (the ``drop`` columns of
:func:`shipyard.train.split`), or of all their values when they have no id, which makes two
identical rows one row (a model that fitted one has seen the other). A split keeps each part's
keys as its index (named :data:`ROW_KEY`), so they travel through pipeline steps with the rows;
training records them with the model (:class:`RowKeys`), and registration logs them with the
version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ROWS_FILE", "ROW_KEY", "RowKeys", "keys_of", "row_keys", "set_hash"]

ROW_KEY = "shipyard_row"
"""The index name of frames whose index holds row keys."""
ROWS_FILE = "rows.parquet"
"""The file logged with a version: its fit and test rows' keys."""


def row_keys(frame: pd.DataFrame) -> pd.Index:
    """One key per row of ``frame``, from its values (its id columns, when you pass those)."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    return pd.Index(hashed, name=ROW_KEY)


def keys_of(frame: pd.DataFrame) -> np.ndarray | None:
    """The row keys a split left as ``frame``'s index, or None when it has none."""
    if frame.index.name != ROW_KEY:
        return None
    return frame.index.to_numpy(dtype=np.uint64)


def set_hash(keys: np.ndarray) -> str:
    """A short SHA-256 of a set of row keys (order does not matter): the identity of an
    evaluation set, recorded in comparisons and the audit trail."""
    ordered = np.sort(np.asarray(keys, dtype=np.uint64))
    return hashlib.sha256(ordered.astype("<u8").tobytes()).hexdigest()[:16]


@dataclass(frozen=True)
class RowKeys:
    """The keys of the rows a model was fitted or tuned on (train and validation) and of its
    test rows, in the order of its ``test_X``."""

    fit: np.ndarray
    test: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"row": np.concatenate([self.fit, self.test]).astype(np.uint64),
                             "part": ["fit"] * len(self.fit) + ["test"] * len(self.test)})

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> RowKeys:
        rows = frame["row"].to_numpy(dtype=np.uint64)
        part = frame["part"].to_numpy()
        return cls(fit=rows[part == "fit"], test=rows[part == "test"])
