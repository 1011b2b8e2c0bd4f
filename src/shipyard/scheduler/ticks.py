"""One scheduler tick: find what is due, claim it, run it.

A cron schedule is due at its most recent slot (``croniter``'s previous fire time, UTC); slots
missed while no scheduler ran are not replayed one by one, only the latest is run. A pipeline
with ``on_new_data: true`` is due whenever the set of lake versions it reads has not been
claimed before, which happens after an ingest lands a new version of one of its tables.
With ``monitoring.check_every``, the rules of ``monitoring.rules`` are checked once per period
(slots aligned to the Unix epoch, so two schedulers share them), which may start the
``monitoring.on_drift`` pipeline. Every ``monitoring.compact_every`` (daily by default in a
project with models), the prediction logs are expired, compacted and vacuumed once per period
the same way (the server appends small files all day; left alone, reading a window opens
thousands of them).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from croniter import croniter

from shipyard.errors import ConfigError, ModelRejected, ShipyardError, StepFailed
from shipyard.project import Project
from shipyard.scheduler.slots import SlotStore

__all__ = ["NextSlot", "Started", "compact_slot", "due_cron_slot", "monitor_slot",
           "new_data_slot", "next_cron_slot", "tick"]

MONITOR = "monitoring"
"""The slots' ``pipeline`` of rule checks (no pipeline can be named so: it is not a run)."""

log = logging.getLogger("shipyard.scheduler")


@dataclass(frozen=True)
class Started:
    """A run the scheduler started, and how it ended."""

    pipeline: str
    trigger: str
    slot: str
    status: str
    run_id: str | None
    message: str | None


@dataclass(frozen=True)
class NextSlot:
    """The next time a pipeline's cron schedule fires."""

    pipeline: str
    schedule: str
    at: datetime


def _cron(expression: str, now: datetime, *, pipeline: str) -> croniter:
    if not croniter.is_valid(expression):
        raise ConfigError(
            f"pipelines.{pipeline}.schedule: {expression!r} is not a cron expression; "
            f"write e.g. '0 3 * * *' (03:00 UTC every day)"
        )
    return croniter(expression, now)


def due_cron_slot(expression: str, now: datetime, *, pipeline: str) -> datetime:
    """The most recent time ``expression`` fired at or before ``now``."""
    return _cron(expression, now, pipeline=pipeline).get_prev(datetime)


def next_cron_slot(project: Project, now: datetime) -> NextSlot | None:
    """The earliest slot after ``now`` of any pipeline's schedule (None: no schedules), so
    that a waiting scheduler can say what it waits for instead of staying silent."""
    found = [NextSlot(name, config.schedule,
                      _cron(config.schedule, now, pipeline=name).get_next(datetime))
             for name, config in project.config.pipelines.items() if config.schedule]
    return min(found, key=lambda slot: slot.at, default=None)


def new_data_slot(project: Project, pipeline: str) -> str | None:
    """``layer.table@version`` of every lake table the pipeline reads, or None if none exist.

    Versions come from the lake's published snapshot, as the run itself will read them: a
    table written by an interrupted ingest is not new data until an ingest publishes it.
    """
    from shipyard.lake.snapshots import Snapshots
    from shipyard.lake.tables import DeltaStore
    from shipyard.pipeline.loader import load_pipeline

    built = load_pipeline(project, pipeline, token=uuid.uuid4().hex)
    snapshot = Snapshots(DeltaStore.of(project)).current()
    tables = sorted({src.name for step in built.steps for src in step.inputs.values()
                     if src.kind == "lake"})
    versions = []
    for name in tables:
        layer, table = name.split(".", 1)
        version = snapshot.version(layer, table)  # type: ignore[arg-type]
        if version is None:
            return None
        versions.append(f"{name}@{version}")
    return ",".join(versions) or None


def _run(project: Project, slots: SlotStore, pipeline: str, trigger: str, slot: str) -> Started:
    from shipyard.runs import run_pipeline

    log.info("starting %s (%s slot %s)", pipeline, trigger, slot)
    status, run_id, message = "succeeded", None, None
    try:
        result = run_pipeline(project, pipeline)
        run_id = result.run_id
    except ShipyardError as error:
        # A gate's rejection is a finished run whose model was refused, not a failure.
        status = "rejected" if isinstance(error, ModelRejected) else "failed"
        run_id = error.run_id if isinstance(error, StepFailed) else None
        message = str(error).splitlines()[0]
        log.warning("%s (%s slot %s) %s: %s", pipeline, trigger, slot, status, message)
    slots.finish(pipeline, trigger, slot, status=status, run_id=run_id, message=message)
    return Started(pipeline, trigger, slot, status, run_id, message)


def _period_start(every: str | None, now: datetime) -> str | None:
    """The start of the ``every`` period holding ``now``, aligned to the Unix epoch so that
    two schedulers name the same slot (None: ``every`` not set)."""
    from shipyard.monitoring import parse_duration

    if not every:
        return None
    period = parse_duration(every).total_seconds()
    return datetime.fromtimestamp(now.timestamp() // period * period, UTC).isoformat()


def monitor_slot(project: Project, now: datetime) -> str | None:
    """The start of the ``monitoring.check_every`` period holding ``now`` (None: not set)."""
    return _period_start(project.config.monitoring.check_every, now)


def compact_slot(project: Project, now: datetime) -> str | None:
    """The start of the compaction period holding ``now`` (None: no compaction, see
    :meth:`ProjectConfig.compact_every`)."""
    return _period_start(project.config.compact_every(), now)


def _compact(project: Project, slots: SlotStore, slot: str) -> Started:
    """Expire, compact and vacuum the prediction logs, and expire the reports, once for
    ``slot``."""
    from shipyard.monitoring import compact_logs, expire_reports

    try:
        done = compact_logs(project)
        expired = expire_reports(project)
    except Exception as error:  # noqa: BLE001 - a failed maintenance must not stop the ticks
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        log.warning("log compaction (slot %s) failed: %s", slot, message)
        slots.finish(MONITOR, "compact", slot, status="failed", run_id=None, message=message)
        return Started(MONITOR, "compact", slot, "failed", None, message)
    message = "; ".join(f"{c.table}: {c.files_before}→{c.files_after} files, "
                        f"{c.rows_removed:,} rows expired" for c in done) or "no log yet"
    message += f"; {expired.removed} report(s) removed"
    slots.finish(MONITOR, "compact", slot, status="succeeded", run_id=None, message=message)
    return Started(MONITOR, "compact", slot, "succeeded", None, message)


def _check(project: Project, slots: SlotStore, slot: str) -> list[Started]:
    """Check the rules once for ``slot``: one ``Started`` for the check, one per retraining."""
    from shipyard.monitoring import check_rules

    try:
        outcome = check_rules(project)
    except ShipyardError as error:
        message = str(error).splitlines()[0]
        log.warning("monitoring check (slot %s) failed: %s", slot, message)
        slots.finish(MONITOR, "check", slot, status="failed", run_id=None, message=message)
        return [Started(MONITOR, "check", slot, "failed", None, message)]
    firing = [r.rule for r in outcome.firing]
    message = f"firing: {', '.join(firing)}" if firing else f"{len(outcome.results)} rule(s) ok"
    slots.finish(MONITOR, "check", slot, status="succeeded", run_id=None, message=message)
    return [Started(MONITOR, "check", slot, "succeeded", None, message),
            *(Started(run.pipeline, "on_drift", slot, run.status, run.run_id, run.message)
              for run in outcome.retrains)]


def tick(project: Project, now: datetime | None = None) -> list[Started]:
    """Run every due, unclaimed slot of every pipeline once, and the rule check when its
    period is due; return what was started."""
    now = now or datetime.now(UTC)
    slots = SlotStore.of(project)
    started = []
    check = monitor_slot(project, now)
    if check is not None and slots.claim(MONITOR, "check", check):
        started += _check(project, slots, check)
    compact = compact_slot(project, now)
    if compact is not None and slots.claim(MONITOR, "compact", compact):
        started.append(_compact(project, slots, compact))
    for name, config in project.config.pipelines.items():
        due: list[tuple[str, str]] = []
        if config.schedule:
            due.append(("cron", due_cron_slot(config.schedule, now, pipeline=name).isoformat()))
        if config.on_new_data:
            versions = new_data_slot(project, name)
            if versions is not None:
                due.append(("new_data", versions))
        for trigger, slot in due:
            if slots.claim(name, trigger, slot):
                started.append(_run(project, slots, name, trigger, slot))
    return started
