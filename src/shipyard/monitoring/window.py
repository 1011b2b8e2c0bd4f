"""Serving windows: ``--window 7d`` ending now, or starting at ``--since``; and the one before.

Drift compares a window with the previous one of the same length, so a window is a pair of
instants and its predecessor is computed, never configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shipyard.errors import ConfigError

__all__ = ["Window", "parse_duration", "parse_since"]

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d``, ``2w`` as a time span; anything else is a usage error."""
    found = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if found is None or int(found[1]) == 0:
        raise ConfigError(f"window {text!r} is not a length of time; write a positive number "
                          f"and a unit: 30m, 12h, 7d or 2w")
    return timedelta(**{_UNITS[found[2]]: int(found[1])})


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
