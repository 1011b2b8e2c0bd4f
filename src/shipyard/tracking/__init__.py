"""MLflow set-up for a project: tracking URI and experiment with a project-local artifact root."""

from __future__ import annotations

from shipyard.tracking.setup import (
    check_tracking_store,
    experiment_for,
    tracking_client,
    use_project,
)

__all__ = ["check_tracking_store", "experiment_for", "tracking_client", "use_project"]
