"""The one shape every alert takes before it is formatted for a webhook.

Parts of the lifecycle (ingest, quarantine, registry, monitoring) describe *what happened* as an
``Event``; ``formats`` decides how each webhook kind shows it. Keeping the two apart means a new
event needs no formatting code and a new webhook kind needs no change to the senders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["Event"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Event:
    """Something people should hear about, e.g. a batch rejected by validation.

    Attributes:
        kind: Machine name matched against ``WebhookConfig.events`` (``"batch_rejected"``).
        title: One line that says what happened and to what.
        summary: A few lines of plain text for people.
        facts: Short key/value pairs shown as a table (table, batch, report path...).
        details: JSON-able payload for machines; only the ``json`` webhook kind gets it whole.
        project: Project name, shown with every message so that shared channels stay readable.
        environment: Environment name (``dev``, ``prod``): the same alert means different
            things in each.
        time: When it happened; timezone-aware, stored in UTC.
    """

    kind: str
    title: str
    summary: str
    facts: dict[str, str]
    details: dict[str, Any]
    project: str
    environment: str
    time: datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        # A naive time would be read differently by each receiver; refuse it rather than guess.
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError(
                f"Event.time must be timezone-aware, got naive {self.time.isoformat()!r}; "
                "use datetime.now(UTC)"
            )
        object.__setattr__(self, "time", self.time.astimezone(UTC))
