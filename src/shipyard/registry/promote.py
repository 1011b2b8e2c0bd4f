"""Moving ``production``: promotion by a person or by policy, and rollback."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.errors import PromotionRefused
from shipyard.names import GATE, PREVIOUS, PRODUCTION, STATUS
from shipyard.project import Project
from shipyard.registry.client import Registry, gate_passed
from shipyard.registry.transitions import announce, model_lock

__all__ = ["Transition", "promote", "rollback"]



@dataclass(frozen=True)
class Transition:
    """``production`` moved from ``previous`` (None: there was none) to ``version``."""

    name: str
    version: int
    previous: int | None
    action: str


def promote(project: Project, name: str, version: int, *, reason: str,
            actor: str | None = None, force: bool = False) -> Transition:
    """Point ``production`` at ``version``; the version it leaves is archived.

    Only a version that passed its gate may serve. One that failed it, or whose registration
    was interrupted before its gate ran, is refused unless ``force`` is given: a person's
    explicit decision, audited as ``force_promoted`` with their reason.

    Raises:
        NotFoundError: no such model or version.
        PromotionRefused: the version did not pass its gate (and no force), or is production
            already.
    """
    registry = Registry.of(project)
    with model_lock(project, name):
        tags = registry.get(name, version).tags
        passed = gate_passed(tags)
        if not passed and not force:
            raise PromotionRefused(_ungated(project, name, version, tags))
        previous = registry.alias(name, PRODUCTION)
        if previous == version:
            raise PromotionRefused(f"model {name!r} version {version} is production already")
        registry.set_alias(name, PRODUCTION, version)
        registry.set_status(name, version, "production")
        if previous is not None:
            registry.tag(name, version, PREVIOUS, str(previous))
            registry.set_status(name, previous, "archived")
        action = "promoted" if passed else "force_promoted"
        details: dict[str, object] = {"previous": previous}
        if not passed:
            details["gate"] = tags.get(GATE, "not run")
        announce(project, name, version, action,
                 reason=reason, actor=actor, event="model_promoted",
                 title=f"{name} version {version} promoted to production"
                       + ("" if passed else " without a passed gate (forced)"),
                 details=details)
    return Transition(name, version, previous, action)


def _ungated(project: Project, name: str, version: int, tags: dict[str, str]) -> str:
    """Why a version cannot be promoted, and the two ways forward."""
    forced = project.command(f'models promote {name} {version} --force --reason "..."')
    force = f"to promote it anyway: '{forced}' (audited)"
    if tags.get(GATE) == "failed" or tags.get(STATUS) == "rejected":
        return (f"model {name!r} version {version} failed its gate and cannot be promoted; "
                f"see '{project.command(f'models show {name}')}'; {force}")
    pipeline = tags.get("shipyard.pipeline", "PIPELINE")
    return (f"model {name!r} version {version} has not passed its gate: its registration was "
            f"interrupted (run {tags.get('shipyard.run_id', 'unknown')}) before the gate ran. "
            f"Run '{project.command(f'run {pipeline}')}' to finish it (the trained model is "
            f"reused), or, {force}")


def rollback(project: Project, name: str, *, reason: str,
             actor: str | None = None) -> Transition:
    """Point ``production`` back at the version it held before the current one.

    Raises:
        PromotionRefused: nothing is in production, or it has no previous version.
    """
    registry = Registry.of(project)
    with model_lock(project, name):
        registry.versions(name)  # an unknown model is a NotFoundError naming the known ones
        current = registry.alias(name, PRODUCTION)
        if current is None:
            raise PromotionRefused(f"model {name!r} has no production version to roll back")
        previous = registry.get(name, current).tags.get(PREVIOUS)
        if previous is None:
            raise PromotionRefused(
                f"model {name!r} version {current} was the first production version; there is "
                f"nothing to roll back to. Promote another version instead.")
        target = int(previous)
        registry.set_alias(name, PRODUCTION, target)
        registry.set_status(name, target, "production")
        registry.set_status(name, current, "rolled_back")
        announce(project, name, target, "rolled_back", reason=reason, actor=actor,
                 event="model_rolled_back",
                 title=f"{name}: production rolled back from version {current} to {target}",
                 details={"from": current})
    return Transition(name, target, current, "rolled_back")
