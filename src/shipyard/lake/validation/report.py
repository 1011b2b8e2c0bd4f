"""The validation report of one batch: a list of checks, kept as JSON for every batch."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["Check", "ValidationReport"]


@dataclass(frozen=True)
class Check:
    """One check on one batch: what was tested, what was found, and whether it passed.

    ``passed`` is None for a check that was skipped (the ``message`` says why).
    """

    name: str
    passed: bool | None
    message: str
    column: str | None = None
    test: str | None = None
    statistic: float | None = None
    p_value: float | None = None
    effect: float | None = None
    threshold: float | None = None
    examples: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class ValidationReport:
    batch_id: int
    table: str
    rows: int
    reference: str
    checks: list[Check]
    reference_batches: list[int] = field(default_factory=list)  # [] in reports written before
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def passed(self) -> bool:
        return all(check.passed is not False for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.passed is False]

    def summary(self) -> str:
        """One line per failed check, for messages and alerts."""
        if self.passed:
            return f"{self.table}: {len(self.checks)} checks passed"
        return "\n".join(
            f"{check.column or self.table}: {check.name} failed: {check.message}"
            for check in self.failures
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), indent=2, default=str).encode()

    @classmethod
    def from_json(cls, text: bytes | str) -> ValidationReport:
        data = json.loads(text)
        data.pop("passed", None)
        data["checks"] = [Check(**check) for check in data["checks"]]
        return cls(**data)
