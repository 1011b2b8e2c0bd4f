"""Named crash points, so tests can SIGKILL a real process at an exact step.

Recovery code is only trustworthy if it is exercised at the worst moments: between the RAW and
the CLEAN commit, or halfway through staging. Setting ``SHIPYARD_KILL_AT=<point>`` makes the
process kill itself with SIGKILL (no cleanup, no ``finally``) when it reaches that point.
"""

from __future__ import annotations

import os
import signal

__all__ = ["REGISTRATION_POINTS", "crash_point"]


def crash_point(name: str) -> None:
    if os.environ.get("SHIPYARD_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


REGISTRATION_POINTS = (
    "register:version-created",  # the version row exists, nothing else does
    "register:gated",            # the gate's outcome is tagged, not yet acted on
    "register:staged",           # alias ``staging`` moved, the version's tags not yet
    "register:before-audit",     # staged and tagged, the ``staged`` audit row not yet written
)
"""Crash points inside model registration (``shipyard.registry.flow``), in the order reached."""
