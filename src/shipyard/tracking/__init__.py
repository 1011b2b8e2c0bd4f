"""Run records: the metadata database's run and step rows, and their MLflow side.

The MLflow set-up names are re-exported lazily, so that the runner, which imports
:mod:`shipyard.tracking.records`, does not pay for importing MLflow.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_tracking_store", "experiment_for", "tracking_client", "use_project"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from shipyard.tracking import setup

        return getattr(setup, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
