"""Run records in the metadata database (one row per run, one per step).

They answer "what ran, when, on which data and code, and why" long after the terminal is gone,
on SQLite for one machine and PostgreSQL for a team (plain SQLAlchemy Core, JSON kept as text so
both behave the same). A record is written when a run starts and updated as each step starts and
ends, so a run killed with SIGKILL still shows how far it got, and can be resumed.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shipyard.db.migrate import migrate
from shipyard.db.tables import runs as _runs
from shipyard.db.tables import step_runs as _steps
from shipyard.errors import NotFoundError, RunIdTaken
from shipyard.hints import DEFAULT_ENV, command
from shipyard.redact import redact_value

if TYPE_CHECKING:
    from shipyard.project import Project

__all__ = [
    "RUN_STATUSES",
    "STEP_STATUSES",
    "UNFINISHED",
    "RunRecord",
    "RunStore",
    "StepRecord",
    "TrackedRun",
]


RUN_STATUSES = ("running", "registering", "succeeded", "failed")
"""``registering``: every step is done and the run's models are going through the registry
(gate, staging, comparison); the run has not succeeded until that is finished too."""
UNFINISHED = ("running", "registering")
STEP_STATUSES = ("pending", "running", "succeeded", "reused", "failed", "skipped")

_JSON_RUN = ("params", "data_versions", "environment")


@dataclass(frozen=True)
class TrackedRun:
    """What a tracker hook answers when a run starts: its id for the run there (handed to
    steps as ``ctx.tracking_run_id``) and environment variables step processes need."""

    run_id: str
    environ: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StepRecord:
    run_id: str
    position: int
    step: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    fingerprint: str | None
    cache_key: str | None
    reason: str | None
    reused_from: str | None
    outputs: dict[str, str]
    error: str | None
    traceback: str | None
    mlflow_run_id: str | None


@dataclass(frozen=True)
class RunRecord:
    id: str
    pipeline: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    params: dict[str, Any]
    executor: str
    env: str
    git_commit: str | None
    git_dirty: bool | None
    data_versions: dict[str, int]
    smoke: bool
    sample: float | None
    no_cache: bool
    resumed_from: str | None
    error: str | None
    traceback: str | None
    mlflow_run_id: str | None
    tracking_uri: str | None
    snapshot_path: str | None
    environment: dict[str, Any]
    host: str | None
    pid: int | None
    run_by: str | None
    steps: tuple[StepRecord, ...] = field(default=())


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class RunStore:
    """Reads and writes run records; each change is one short transaction.

    ``env`` names the environment the records belong to, for the commands its errors suggest.
    """

    def __init__(self, engine: Engine, *, env: str = DEFAULT_ENV) -> None:
        self.engine = engine
        self.env = env
        migrate(engine, "metadata")

    @classmethod
    def of(cls, project: Project) -> RunStore:
        """The run records in ``project``'s metadata database."""
        return cls(project.metadata_engine, env=project.env_name)

    def new_run_id(self, pipeline: str, when: datetime | None = None) -> str:
        """A short, readable, sortable id: ``<pipeline>-YYYYMMDD-HHMM-<4 hex>``."""
        when = when or _now()
        return f"{pipeline}-{when:%Y%m%d-%H%M}-{secrets.token_hex(2)}"

    def start(self, keep_id: bool = False, **values: Any) -> str:
        """Insert a running run; on an id collision draw another suffix. Returns the id.

        With ``keep_id`` the id was promised to someone (a server answered with it), so a
        collision raises :class:`PipelineError` instead of silently recording another id.
        """
        for key in _JSON_RUN:
            values[key] = json.dumps(values.get(key) or {}, default=str)
        values = {key: redact_value(value) for key, value in values.items()}  # no secrets stored
        for _ in range(5):
            try:
                with self.engine.begin() as conn:
                    conn.execute(_runs.insert().values(status="running", **values))
                return str(values["id"])
            except IntegrityError:
                if keep_id:
                    raise RunIdTaken(f"run id {values['id']!r} is taken by another run; "
                                     f"start the run without --run-id") from None
                values["id"] = self.new_run_id(values["pipeline"])
        raise RuntimeError("could not draw a free run id")  # pragma: no cover

    def update(self, run_id: str, **values: Any) -> None:
        for key in _JSON_RUN:
            if key in values:
                values[key] = json.dumps(values[key], default=str)
        values = {key: redact_value(value) for key, value in values.items()}  # no secrets stored
        with self.engine.begin() as conn:
            conn.execute(_runs.update().where(_runs.c.id == run_id).values(**values))

    def finish(self, run_id: str, status: str, started_at: datetime, *,
               error: str | None = None, traceback: str | None = None) -> None:
        end = _now()
        self.update(run_id, status=status, finished_at=end,
                    duration_s=(end - started_at).total_seconds(), error=error,
                    traceback=traceback)

    def add_steps(self, run_id: str, steps: list[dict[str, Any]]) -> None:
        """Insert the plan of a run: one row per step, with its key and why it runs."""
        rows = [{"run_id": run_id, "error": None, "traceback": None, "started_at": None,
                 "finished_at": None, "duration_s": None, "reused_from": None,
                 "outputs": None, "mlflow_run_id": None, **row} for row in steps]
        for row in rows:
            if isinstance(row["outputs"], dict):
                row["outputs"] = json.dumps(row["outputs"])
        with self.engine.begin() as conn:
            conn.execute(_steps.insert(), rows)

    def update_step(self, run_id: str, step: str, **values: Any) -> None:
        if isinstance(values.get("outputs"), dict):
            values["outputs"] = json.dumps(values["outputs"])
        values = {key: redact_value(value) for key, value in values.items()}  # no secrets stored
        with self.engine.begin() as conn:
            conn.execute(_steps.update()
                         .where(_steps.c.run_id == run_id, _steps.c.step == step)
                         .values(**values))

    def get(self, run_id: str) -> RunRecord:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_runs).where(_runs.c.id == run_id)).first()
            if row is None:
                recent = conn.execute(sa.select(_runs.c.id)
                                      .order_by(_runs.c.started_at.desc()).limit(3)).scalars()
                hint = ", ".join(recent) or "none yet"
                raise NotFoundError(f"no run {run_id!r} in {self.env} (runs are recorded per "
                                    f"environment); recent runs here: {hint} "
                                    f"(see '{command('runs ls', self.env)}')")
            steps = conn.execute(sa.select(_steps).where(_steps.c.run_id == run_id)
                                 .order_by(_steps.c.position)).all()
        return _run(row._mapping, tuple(_step(s._mapping) for s in steps))

    def resolve(self, run_id: str) -> RunRecord:
        """The record of ``run_id``, or with ``latest`` the newest run's (what ``runs show``
        and the UI accept)."""
        if run_id != "latest":
            return self.get(run_id)
        latest = self.latest()
        if latest is None:
            raise NotFoundError(f"no runs yet in {self.env}; start one with "
                                f"'{command('run PIPELINE', self.env)}'")
        return latest

    def latest(self, pipeline: str | None = None) -> RunRecord | None:
        runs = self.recent(limit=1, pipeline=pipeline)
        return self.get(runs[0].id) if runs else None

    def recent(self, *, limit: int = 20, pipeline: str | None = None,
               status: str | None = None) -> list[RunRecord]:
        """Most recent runs first, without their steps (of ``pipeline``, with ``status``)."""
        query = sa.select(_runs).order_by(_runs.c.started_at.desc(), _runs.c.id.desc())
        if pipeline is not None:
            query = query.where(_runs.c.pipeline == pipeline)
        if status is not None:
            query = query.where(_runs.c.status == status)
        with self.engine.connect() as conn:
            return [_run(r._mapping, ()) for r in conn.execute(query.limit(limit))]

    def unfinished(self, pipeline: str) -> list[RunRecord]:
        """Runs of ``pipeline`` still recorded as running or registering, with their steps."""
        query = (sa.select(_runs.c.id)
                 .where(_runs.c.pipeline == pipeline, _runs.c.status.in_(UNFINISHED))
                 .order_by(_runs.c.started_at))
        with self.engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
        return [self.get(run_id) for run_id in ids]

    def succeeded_with(self, fingerprint: str, *, besides: str) -> bool:
        """Whether a succeeded, non-smoke run other than ``besides`` made or reused this result.

        Such a run has handed its models to the registry already.
        """
        query = (sa.select(sa.func.count())
                 .select_from(_steps.join(_runs, _runs.c.id == _steps.c.run_id))
                 .where(_steps.c.fingerprint == fingerprint, _runs.c.id != besides,
                        _runs.c.status == "succeeded", _runs.c.smoke.is_(False)))
        with self.engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    def previous_keys(self, pipeline: str, steps: list[str]) -> dict[str, str]:
        """Step → cache key of its latest attempt in this pipeline, to explain why it re-runs."""
        latest = (sa.select(sa.func.max(_steps.c.id))
                  .select_from(_steps.join(_runs, _runs.c.id == _steps.c.run_id))
                  .where(_runs.c.pipeline == pipeline, _steps.c.step.in_(steps),
                         _steps.c.cache_key.is_not(None))
                  .group_by(_steps.c.step))
        query = sa.select(_steps.c.step, _steps.c.cache_key).where(_steps.c.id.in_(latest))
        with self.engine.connect() as conn:
            return dict(conn.execute(query).tuples().all())


def _run(row: Any, steps: tuple[StepRecord, ...]) -> RunRecord:
    values = dict(row)
    for key in _JSON_RUN:
        values[key] = json.loads(values[key]) if values[key] else {}
    values["started_at"] = _utc(values["started_at"])
    values["finished_at"] = _utc(values["finished_at"])
    return RunRecord(**values, steps=steps)


def _step(row: Any) -> StepRecord:
    values = dict(row)
    values.pop("id")
    values["outputs"] = json.loads(values["outputs"]) if values["outputs"] else {}
    values["started_at"] = _utc(values["started_at"])
    values["finished_at"] = _utc(values["finished_at"])
    return StepRecord(**values)
