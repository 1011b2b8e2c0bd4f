"""What every move of a model version shares: a per-model lock, the audit row, the alert."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shipyard.project import Project
from shipyard.registry.audit import AuditEntry, AuditTrail

__all__ = ["announce", "model_lock"]

LOCK_WAIT_S = 300.0
"""How long a move waits for another move of the same model. A move holds the lock for a few
registry calls and one audit row, which on a busy machine (or a remote tracking server) can
take tens of seconds; waiting is better than refusing a promotion that would have succeeded."""


@contextmanager
def model_lock(project: Project, name: str) -> Iterator[None]:
    """Serialise alias moves of one model, so two racing promotions both see a consistent
    'previous production' and leave exactly one production version, in the order they ran."""
    busy = f"model {name!r} is being moved by {{holder}}; try again when it is done"
    with project.locks.hold(f"model/{name}", busy, LOCK_WAIT_S):
        yield


def announce(project: Project, name: str, version: int, action: str, *, reason: str,
             actor: str | None = None, event: str | None = None, title: str | None = None,
             details: dict[str, Any] | None = None) -> AuditEntry:
    """Write the audit row and, when ``event`` is given, post it to the webhooks that want it.

    A failed delivery is logged by the notifier and never undoes the transition.
    """
    entry = AuditTrail.of(project).record(
        name, version, action, actor=actor or project.user, reason=reason, details=details)
    webhooks = project.config.alerts.webhooks
    if event is not None and any(w.wants(event) for w in webhooks):
        from shipyard.notify import Event, notify

        facts = {"model": name, "version": str(version), "by": entry.actor, "why": reason}
        notify(webhooks, Event(
            kind=event, title=title or f"{name} version {version}: {action}",
            summary=reason, facts=facts,
            details={"model": name, "version": version, "action": action, **(details or {})},
            project=project.config.project, environment=project.env_name))
    return entry
