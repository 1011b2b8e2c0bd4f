"""What a skew or drift check found, per column and for the model: the report's content.

Apart from :mod:`.drift` (which measures a served model's inputs) so that
:mod:`.interactions` (a recommender's inputs) can build the same report without importing
the module that dispatches to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from shipyard.config.schema import MonitoringSettings
from shipyard.monitoring.stats import Test
from shipyard.monitoring.window import Window
from shipyard.train.profile import OUTPUT

__all__ = ["ColumnResult", "DriftReport", "Kind"]

Kind = Literal["skew", "drift"]


@dataclass(frozen=True)
class ColumnResult:
    """One column (or the prediction) under one kind of check, with what a plot needs."""

    column: str
    kind: Kind
    numeric: bool
    test: Test
    labels: list[str]
    reference: list[float]
    """Shares per bin of the reference (the profile for skew, the previous window for drift)."""
    current: list[float]
    reference_rows: int
    current_rows: int

    @property
    def is_prediction(self) -> bool:
        return self.column == OUTPUT


@dataclass
class DriftReport:
    """Everything one ``monitor drift`` found: what the JSON report holds."""

    model: str
    version: int
    window: Window
    settings: MonitoringSettings
    rows: int
    """Logged rows in the window (all versions)."""
    version_rows: int
    previous_rows: int
    results: list[ColumnResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def share(self, kind: Kind) -> float | None:
        """The share of input columns drifting under ``kind``; None if it was not checked."""
        inputs = [r for r in self.results if r.kind == kind and not r.is_prediction]
        return sum(r.test.drifted for r in inputs) / len(inputs) if inputs else None

    def detected(self, kind: Kind) -> bool:
        share = self.share(kind)
        prediction = any(r.test.drifted for r in self.results
                         if r.kind == kind and r.is_prediction)
        return prediction or (share is not None and share >= self.settings.drift_share)

    @property
    def drifted(self) -> bool:
        return self.detected("skew") or self.detected("drift")

    @property
    def drifted_columns(self) -> list[str]:
        return sorted({r.column for r in self.results if r.test.drifted})
