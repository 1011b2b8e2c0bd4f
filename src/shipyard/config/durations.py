"""Lengths of time in shipyard.yaml and on the command line: ``30m``, ``12h``, ``7d``, ``2w``,
``1.5h``; one grammar, checked when the project opens.

A window, a horizon or an interval must be longer than nothing (``0d`` would open a project
and then fail the command that uses it); an age threshold may be zero (``lake_age: 0s`` fires
as soon as the lake has data). Settings keep the text as written, for messages and tables;
:func:`parse_duration` gives its ``timedelta``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

from shipyard.errors import ConfigError

__all__ = ["Age", "Duration", "parse_duration"]

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_FORM = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*")


def parse_duration(text: str, *, what: str = "window", zero: bool = False) -> timedelta:
    """``text`` as a time span; anything else (or zero, unless ``zero``) names ``what`` and the
    form to write."""
    found = _FORM.fullmatch(text) if isinstance(text, str) else None
    if found is None or (float(found[1]) == 0 and not zero):
        kind = "a number" if zero else "a positive number"
        raise ConfigError(f"{what} {text!r} is not a length of time; write {kind} and a unit: "
                          f"30m, 12h, 7d or 2w{' (0s allowed)' if zero else ''}")
    return timedelta(seconds=float(found[1]) * _SECONDS[found[2]])


def _checked(zero: bool) -> AfterValidator:
    def check(text: str, info: ValidationInfo) -> str:
        try:
            parse_duration(text, what=info.field_name or "duration", zero=zero)
        except ConfigError as error:
            raise ValueError(str(error)) from None  # pydantic adds where the setting is
        return text

    return AfterValidator(check)


Duration = Annotated[str, _checked(zero=False)]
"""A positive length of time, as written (``7d``)."""
Age = Annotated[str, _checked(zero=True)]
"""A length of time that may be zero (``0s``): an age threshold."""
