"""The rows a champion–challenger comparison scores: those neither version was fitted on.

Scoring both versions on the challenger's test rows favours the champion whenever those rows
were in the champion's training or validation rows (two random splits of the same data share
most of their rows: 206 of 262 Titanic test rows in the README's two versions). So the
evaluation set is the challenger's test rows less every row the champion was fitted or tuned
on; the challenger never saw its own test rows. On the same data that is the rows both
versions held out; after new data lands it includes the new rows the champion never saw.

The set is named by what identifies it (the challenger's data versions, its row count, a hash
of its row keys) in the comparison report and the audit trail. Below ``compare_min_rows``
rows (or, for a classifier, :data:`MIN_PER_CLASS` of either class) the comparison is refused:
a bootstrap interval on a handful of rows says nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from shipyard.errors import ComparisonRefused
from shipyard.project import Project
from shipyard.registry.client import Fetched, Registry
from shipyard.train.outputs import task_of
from shipyard.train.rows import set_hash

__all__ = ["MIN_PER_CLASS", "EvaluationSet", "evaluation_rows"]

MIN_PER_CLASS = 10
"""Fewest rows of each class a classifier comparison needs (AUC ranks one against the other)."""
DISJOINT = "challenger's test rows that neither version was fitted or tuned on"
UNKNOWN = ("challenger's test rows; row keys unknown for v{missing} (registered before "
           "Shipyard kept them), so some may be in the champion's training rows")


@dataclass(frozen=True)
class EvaluationSet:
    """What the comparison scored both versions on."""

    rule: str
    rows: int
    """Rows scored (for a recommender: held-out interactions; its units are users)."""
    rows_hash: str | None
    """SHA-256 (16 hex digits) of the rows' keys; None when they have no keys."""
    candidates: int
    """The challenger's test rows before the champion's fit rows were left out."""
    data_versions: dict[str, str]
    """The lake table versions the challenger's rows came from."""

    def describe(self) -> str:
        left_out = self.candidates - self.rows
        keyed = f", rows hash {self.rows_hash}" if self.rows_hash else ""
        data = ", ".join(f"{t} v{v}" for t, v in sorted(self.data_versions.items()))
        return (f"{self.rows} rows: {self.rule} ({left_out} of the challenger's "
                f"{self.candidates} test rows left out{keyed}; data {data or 'unknown'})")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluation_rows(project: Project, challenger: Fetched, champion: Fetched,
                    ) -> tuple[pd.DataFrame, pd.Series | None, EvaluationSet]:
    """The challenger's test rows that ``champion`` was not fitted on, and their identity.

    Raises:
        ComparisonRefused: fewer rows than ``models.<name>.compare_min_rows`` (or, for a
            classifier, fewer than :data:`MIN_PER_CLASS` of a class) are left.
    """
    X, y = challenger.test_X, challenger.test_y
    tags = Registry.of(project).get(challenger.name, challenger.version).tags
    data = {k.removeprefix("shipyard.data."): v for k, v in tags.items()
            if k.startswith("shipyard.data.")}
    if challenger.rows is None or champion.rows is None:
        missing = challenger.version if challenger.rows is None else champion.version
        found = EvaluationSet(UNKNOWN.format(missing=missing), len(X), None, len(X), data)
    else:
        keep = ~np.isin(challenger.rows.test, champion.rows.fit)
        X = X.loc[keep].reset_index(drop=True)
        y = None if y is None else y.loc[keep].reset_index(drop=True)
        found = EvaluationSet(DISJOINT, len(X), set_hash(challenger.rows.test[keep]),
                              len(keep), data)
    _check_size(project, challenger, champion.version, X, y, found)
    return X, y, found


def _check_size(project: Project, challenger: Fetched, champion: int, X: pd.DataFrame,
                y: pd.Series | None, found: EvaluationSet) -> None:
    name = challenger.name
    config = project.config.models.get(name)
    least = config.compare_min_rows if config is not None else 50
    if y is None:  # a recommender: its units are the users with a held-out purchase
        units, what = X.iloc[:, 0].nunique(), "users"
    else:
        units, what = len(X), "rows"
    counts = ([int((y == c).sum()) for c in (0, 1)]
              if y is not None and task_of(challenger.model) == "classification" else [])
    if units >= least and all(n >= MIN_PER_CLASS for n in counts):
        return
    short = (f"{units} {what}" if units < least else
             f"{min(counts)} rows of one class (at least {MIN_PER_CLASS} of each are needed)")
    raise ComparisonRefused(
        f"cannot compare model {name!r} v{challenger.version} with v{champion} fairly: only "
        f"{short} of v{challenger.version}'s {found.candidates} test rows were not in "
        f"v{champion}'s training or validation rows (models.{name}.compare_min_rows: "
        f"{least}), too few for the interval to mean anything. Train the challenger on the "
        f"champion's split (the same split seed) so that their test rows coincide, compare "
        f"after new data both have not seen lands, or lower models.{name}.compare_min_rows")
