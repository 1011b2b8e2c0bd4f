"""Names more than one layer shares: the registry's aliases, the MLflow tags Shipyard writes,
and the shape of a model's input signature.

They are written by one module and read by others (the registry writes ``shipyard.flavor``;
serving, monitoring, batch and the CLI read it), so each has one spelling, here, beside the
error tree, at the bottom of the import contract.
"""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["FINGERPRINT", "FLAVOR", "GATE", "GATE_CHECKS", "GIT_COMMIT", "GIT_DIRTY",
           "PREVIOUS", "PRODUCTION", "REGISTRATION", "RUN_ID", "SERVED_BY", "STAGING", "STATUS",
           "TASK", "Signature"]

# -- the registry's aliases (MLflow 3 has no stages: one version each, moved atomically) ------
PRODUCTION = "production"
STAGING = "staging"

# -- tags of a model version ---------------------------------------------------------------------
STATUS = "shipyard.status"
"""registered, rejected, staging, production, archived or rolled_back."""
REGISTRATION = "shipyard.registration"
"""How far its registration got: registered, gated, staged, compared or rejected."""
GATE = "shipyard.gate"
"""passed or failed: only a passed gate makes a version promotable."""
GATE_CHECKS = "shipyard.gate.checks"
PREVIOUS = "shipyard.previous_production"
"""On the production version: the version it replaced (what a rollback returns to)."""
FLAVOR = "shipyard.flavor"
"""sklearn or recommender: how the version is loaded and served."""
TASK = "shipyard.task"
SERVED_BY = "shipyard.served_by"
"""onnx or sklearn: which path answers its predictions."""

# -- tags of runs and versions: their lineage ---------------------------------------------------
RUN_ID = "shipyard.run_id"
FINGERPRINT = "shipyard.fingerprint"
GIT_COMMIT = "shipyard.git_commit"
GIT_DIRTY = "shipyard.git_dirty"

Signature: TypeAlias = list[tuple[str, str, bool]]
"""A model's inputs: (column, type, required) in order."""
