"""Monitoring states in the metadata database, and the alert sent once per change of state.

A rule (or a model's drift) is ``ok``, ``firing`` or ``unknown`` (it could not be measured: no
log yet, a store down). People want to hear when an episode starts and when it ends, not at
every check, so each row keeps the state last *alerted* apart from the state last *seen*:
an alert goes out when a measured state (``ok`` or ``firing``) differs from the alerted one.
``unknown`` never alerts and never ends an episode, so a check that cannot read the log in the
middle of a drift does not produce a "recovered" and then a second "firing". With no row yet,
the alerted state is ``ok``: a first check that finds everything fine says nothing.

Rules and ``monitor drift`` share the rows: a drift rule's default key is ``drift:<model>``,
the key ``monitor drift`` uses, so one drift episode is alerted once whoever found it. The
server reads the rows to export them on ``/metrics`` (:func:`latest_states`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shipyard.db.migrate import migrate
from shipyard.db.tables import monitor_states as _states
from shipyard.notify import Event, notify
from shipyard.project import Project

__all__ = ["MonitorStates", "State", "StoredState", "Transition", "alert", "drift_key"]

State = Literal["ok", "firing", "unknown"]


def drift_key(model: str) -> str:
    """The key of ``model``'s drift episode, shared by ``monitor drift`` and drift rules."""
    return f"drift:{model}"


def _utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class Transition:
    """What one recording of a state means for alerting.

    Attributes:
        key: The rule's name (``drift:<model>`` for drift).
        kind: ``drift`` for a model's drift, ``rule`` for the other rules.
        state: The state just seen.
        previous: The state alerted before (``ok`` when never alerted).
        alert: Whether this is a change people should hear about.
        since: When the alerted state last changed (the episode's start when firing).
    """

    key: str
    kind: str
    state: State
    previous: str
    alert: bool
    since: datetime


@dataclass(frozen=True)
class StoredState:
    key: str
    kind: str
    subject: str | None
    state: str
    value: float | None
    checked_at: datetime
    alerted: str = "ok"
    """The state last alerted: ``firing`` while an alert's episode is open."""
    detail: str | None = None
    since: datetime | None = None
    """When the alerted state last changed (the open episode's start)."""


class MonitorStates:
    """The rows of ``shipyard_monitor_states``; each record is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate(engine, "metadata")

    @classmethod
    def of(cls, project: Project) -> MonitorStates:
        return cls(project.metadata_engine)

    def record(self, key: str, kind: str, state: State, *, value: float | None = None,
               subject: str | None = None, detail: str | None = None,
               now: datetime | None = None) -> Transition:
        """Store ``state`` as the latest of ``key``; the alerted state moves with a measured
        state that differs from it, which is what the returned transition's ``alert`` says."""
        now = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(_states).where(_states.c.key == key)
                               .with_for_update()).first()
            previous = row.alerted if row is not None else "ok"
            since = _utc(row.changed_at) if row is not None else now
            alert = state not in ("unknown", previous)
            alerted = state if alert else previous
            values = {"kind": kind, "subject": subject, "state": state, "alerted": alerted,
                      "value": value, "detail": detail, "checked_at": now,
                      "changed_at": now if alert else since}
            if row is None:
                conn.execute(_states.insert().values(key=key, **values))
            else:
                conn.execute(_states.update().where(_states.c.key == key).values(**values))
        return Transition(key, kind, state, previous, alert, now if alert else since)

    def latest(self) -> list[StoredState]:
        """Every stored state, by key."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(_states).order_by(_states.c.key)).all()
        return [StoredState(r.key, r.kind, r.subject, r.state, r.value, _utc(r.checked_at),
                            r.alerted, r.detail, _utc(r.changed_at)) for r in rows]


def alert(project: Project, transition: Transition, *, title: str, summary: str,
          facts: dict[str, str]) -> int:
    """Send ``rule_firing`` or ``rule_resolved`` (``drift_detected``/``drift_recovered`` for
    drift) to the webhooks that want it; never raises for a failed delivery. Returns the
    deliveries that succeeded."""
    drift = transition.kind == "drift"
    firing = transition.state == "firing"
    kind = ({True: "drift_detected", False: "drift_recovered"} if drift
            else {True: "rule_firing", False: "rule_resolved"})[firing]
    deliveries = notify(project.config.alerts.webhooks, Event(
        kind=kind, title=title, summary=summary,
        facts={"rule": transition.key, "state": transition.state, **facts},
        details={"rule": transition.key, "state": transition.state,
                 "previous": transition.previous, **facts},
        project=project.config.project, environment=project.env_name))
    return sum(d.ok for d in deliveries)
