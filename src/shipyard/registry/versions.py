"""The registry as a person reads it: each version with its aliases, gate, metrics and lineage.

``shipyard models show`` and the web UI's Models page show the same things; both read them
here, in two registry calls per model (its versions, and its aliases), instead of one call per
version and alias. The champion–challenger comparison shown beside them is the report the
registration (or ``shipyard models compare``) saved: comparing is a bootstrap over the test
rows of both versions, seconds of work that a page must not redo on every view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from shipyard.errors import NotFoundError
from shipyard.names import GATE, GATE_CHECKS, PREVIOUS, PRODUCTION, RUN_ID, STAGING, STATUS
from shipyard.project import Project
from shipyard.registry.client import Registry, gate_passed
from shipyard.registry.compare import Comparison
from shipyard.registry.flow import comparison_key

__all__ = ["GateOutcome", "ModelSummary", "VersionSummary", "gate_outcome", "saved_comparison",
           "summarize", "summarize_all"]

GateOutcome = Literal["passed", "failed", "not run"]


def gate_outcome(tags: dict[str, str]) -> GateOutcome:
    """Passed, failed, or not run (its registration was interrupted before the gate)."""
    if gate_passed(tags):
        return "passed"
    if tags.get(GATE) == "failed" or tags.get(STATUS) == "rejected":
        return "failed"
    return "not run"


@dataclass(frozen=True)
class VersionSummary:
    """One registered version as the registry holds it."""

    model: str
    version: int
    status: str
    aliases: tuple[str, ...]
    gate: GateOutcome
    gate_checks: str
    """The thresholds checked, as written on the version (``map_at_10 0.041 >= 0.02``)."""
    metrics: dict[str, float]
    run_id: str
    created: datetime
    previous_production: int | None = None
    """The production version this one replaced (what ``rollback`` goes back to)."""

    @property
    def promotable(self) -> bool:
        """Whether ``promote`` accepts it without ``--force``."""
        return self.gate == "passed" and PRODUCTION not in self.aliases


@dataclass(frozen=True)
class ModelSummary:
    """A registered model: its versions newest first, and which ones the aliases hold."""

    name: str
    primary_metric: str | None
    versions: list[VersionSummary]
    aliases: dict[str, int]

    @property
    def production(self) -> int | None:
        return self.aliases.get(PRODUCTION)

    @property
    def staging(self) -> int | None:
        return self.aliases.get(STAGING)

    @property
    def metrics(self) -> list[str]:
        """Every metric any version carries, the primary one first."""
        names = sorted({m for v in self.versions for m in v.metrics})
        if self.primary_metric in names:
            names.remove(self.primary_metric)
            names.insert(0, self.primary_metric)
        return names

    def version(self, number: int) -> VersionSummary | None:
        return next((v for v in self.versions if v.version == number), None)


def _metrics(tags: dict[str, str]) -> dict[str, float]:
    found = {}
    for key, value in tags.items():
        if key.startswith("metric."):
            try:
                found[key.removeprefix("metric.")] = float(value)
            except ValueError:  # a tag someone set by hand
                continue
    return found


def summarize(registry: Registry, name: str) -> ModelSummary:
    """``name``'s versions, newest first, with their aliases.

    Raises:
        NotFoundError: no registered model ``name`` (the message lists the known ones).
    """
    found = registry.versions(name)
    aliases = {alias: int(version) for alias, version
               in registry.client.get_registered_model(name).aliases.items()}
    held: dict[int, list[str]] = {}
    for alias, version in sorted(aliases.items()):
        held.setdefault(version, []).append(alias)
    config = registry.project.config.models.get(name)
    versions = [VersionSummary(
        model=name, version=int(v.version), status=v.tags.get(STATUS, "registered"),
        aliases=tuple(held.get(int(v.version), ())), gate=gate_outcome(v.tags),
        gate_checks=v.tags.get(GATE_CHECKS, ""), metrics=_metrics(v.tags),
        run_id=v.tags.get(RUN_ID, ""),
        created=datetime.fromtimestamp(v.creation_timestamp / 1000, UTC),
        previous_production=int(v.tags[PREVIOUS]) if v.tags.get(PREVIOUS, "").isdigit()
        else None) for v in found]
    return ModelSummary(name, config.primary_metric if config else None, versions, aliases)


def summarize_all(registry: Registry) -> list[ModelSummary]:
    """Every registered model of the environment, by name."""
    return [summarize(registry, name) for name in registry.names()]


def saved_comparison(project: Project, name: str, challenger: int,
                     champion: int) -> Comparison | None:
    """The comparison report of ``challenger`` against ``champion`` saved by registration or
    ``shipyard models compare``; None when the pair was never compared."""
    try:
        return Comparison.from_json(project.state.get(
            comparison_key(name, challenger, champion)).decode())
    except NotFoundError:
        return None
