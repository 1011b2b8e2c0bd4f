"""The model registry flow on MLflow aliases: gate, staging, comparison, promotion, rollback."""

from __future__ import annotations

from shipyard.registry.audit import AuditEntry, AuditTrail
from shipyard.registry.client import Registry
from shipyard.registry.compare import Comparison, MetricDiff, compare_scores
from shipyard.registry.flow import (
    Registered,
    compare_versions,
    comparison_key,
    register_trained,
    save_comparison,
)
from shipyard.registry.gates import GateCheck, check_gate
from shipyard.registry.promote import Transition, promote, rollback

__all__ = [
    "AuditEntry",
    "AuditTrail",
    "Comparison",
    "GateCheck",
    "MetricDiff",
    "Registered",
    "Registry",
    "Transition",
    "check_gate",
    "compare_scores",
    "compare_versions",
    "comparison_key",
    "promote",
    "register_trained",
    "rollback",
    "save_comparison",
]
