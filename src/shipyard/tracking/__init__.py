"""MLflow set-up for a project: tracking URI and experiment with a project-local artifact root."""

from __future__ import annotations

from shipyard.tracking.setup import experiment_for, use_project

__all__ = ["experiment_for", "use_project"]
