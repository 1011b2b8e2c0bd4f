"""Serving windows: ``--window 7d`` ending now, or starting at ``--since``; and the one before.

Drift compares a window with the previous one of the same length, so a window is a pair of
instants and its predecessor is computed, never configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shipyard.config.durations import parse_duration
from shipyard.errors import ConfigError

__all__ = ["Window", "parse_duration", "parse_since"]


def parse_since(text: str) -> datetime:
    """An ISO 8601 date or time; without a zone it is UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--since {text!r} is not an ISO 8601 date or time; write e.g. "
                          f"2026-11-20 or 2026-11-20T08:00:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """The half-open interval [start, end) of logged predictions."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, length: timedelta, since: datetime | None = None,
           now: datetime | None = None) -> Window:
        start = since if since is not None else (now or datetime.now(UTC)) - length
        return cls(start, start + length)

    @property
    def previous(self) -> Window:
        return Window(self.start - (self.end - self.start), self.start)

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M:%S} – {self.end:%Y-%m-%d %H:%M:%S} UTC"
