"""Named crash points, so tests can SIGKILL a real process at an exact step.

Recovery code is only trustworthy if it is exercised at the worst moments: between the RAW and
the CLEAN commit, or halfway through staging. Setting ``SHIPYARD_KILL_AT=<point>`` makes the
process kill itself with SIGKILL (no cleanup, no ``finally``) when it reaches that point.

Points of an ingest, in order: ``staging`` (after each chunk written to the staged file),
``after-staging`` (a batch staged in full, before its record names the file),
``before-quarantine-move`` (a rejection recorded, its file not yet in quarantine),
``after-raw`` (RAW committed, CLEAN maybe not), ``after-clean`` (both committed, the batch not
yet marked landed), ``after-landing`` (one table landed, the next not yet), and
``before-snapshot`` (every table and CURATED written, the snapshot not yet committed).
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
