"""Pipeline runs over REST: start one (one per pipeline at a time) and follow it by its id.

A triggered run is a ``shipyard run --run-id ID`` child process, so a crash of the run cannot
take the server down, and the id is chosen here first so that the 202 answer can name it. Three
things make that safe:

* **One run per pipeline, across servers.** A claim row per pipeline in the metadata database
  (``shipyard_pipeline_claims``, primary key = pipeline) is inserted before the child starts;
  the database refuses a second one, so two server processes cannot both start a run. A run
  started from the command line holds no claim; it still refuses a trigger while its process
  lives (best effort: there is no claim to make that atomic).
* **A dead holder does not block for ever.** On this host a claim holds while the server that
  made it lives (its thread will settle the run), and after that server is gone while the run
  process lives: the process table is the exact answer, at once. A claim from another host cannot
  be checked that way, so it carries a
  heartbeat that its server renews while the child runs, and is stale once the heartbeat is
  older than ``stale_after_s``. A stale claim is taken over: its run is settled first.
* **Every run ends recorded, and every child is reaped.** A thread per child waits for it
  (``Popen.wait``: no zombie) and then *settles* the run: a child that died before writing its
  record (a bad param, a broken config) gets a failed record with the error it printed; one
  killed mid-run (its record still says running) is marked interrupted. Settling is idempotent,
  so a taking-over server and the original one may both do it.

The run's output goes to ``runs/<id>.log`` of the environment's state for the operator (written
there as it comes in a state folder; from a local scratch file once the run ends when the state
is an object store); its state comes from the run records (``GET .../runs/{id}``), or
``queued`` while the child has not recorded it yet.
"""

# No ``from __future__ import annotations``: FastAPI reads the route annotations as objects.
import json
import logging
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import sqlalchemy as sa
from fastapi import APIRouter, Body, HTTPException, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shipyard.db.migrate import migrate
from shipyard.errors import NotFoundError, PipelineError, ShipyardError
from shipyard.pipeline.provenance import process_alive
from shipyard.project import Project
from shipyard.runs import mark_interrupted
from shipyard.serving.schemas import SECURED, Identifier, error_responses
from shipyard.state import FolderState
from shipyard.tracking.records import RunRecord, RunStore

__all__ = ["PipelineRuns", "RunClaims", "pipeline_runs_router"]

logger = logging.getLogger(__name__)

_FINAL = ("succeeded", "failed")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")

_metadata = sa.MetaData()
_claims = sa.Table(
    "shipyard_pipeline_claims",
    _metadata,
    sa.Column("pipeline", sa.String(200), primary_key=True),
    sa.Column("run_id", sa.String(120), nullable=False, unique=True),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("server_pid", sa.Integer, nullable=False),
    sa.Column("child_pid", sa.Integer),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
)


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class Claim:
    """Pipeline ``pipeline`` is taken by run ``run_id`` (started, or about to be)."""

    pipeline: str
    run_id: str
    params: dict[str, str]
    host: str
    server_pid: int
    child_pid: int | None
    claimed_at: datetime
    heartbeat_at: datetime

    def alive(self, stale_after: timedelta) -> bool:
        """Whether the claim still holds: while its server lives (whose thread settles the
        run), or, once that server is gone, while its run process lives."""
        server = process_alive(self.host, self.server_pid)
        if server is None:  # another host: only its heartbeat can tell
            return _now() - self.heartbeat_at < stale_after
        return server or (self.child_pid is not None
                          and process_alive(self.host, self.child_pid) is True)


class RunClaims:
    """The claim rows: one per pipeline with a triggered run that is not over."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate(engine, "metadata")

    def take(self, pipeline: str, run_id: str, params: dict[str, str]) -> Claim | None:
        """Claim ``pipeline`` for ``run_id``.

        Returns the claim that holds the pipeline now: ours if it was free, another one if
        not, None if that one was dropped in between (try again).
        """
        now = _now()
        try:
            with self.engine.begin() as conn:
                conn.execute(_claims.insert().values(
                    pipeline=pipeline, run_id=run_id, params=json.dumps(params),
                    host=socket.gethostname(), server_pid=os.getpid(), claimed_at=now,
                    heartbeat_at=now))
        except IntegrityError:
            pass
        return self.of_pipeline(pipeline)

    def of_pipeline(self, pipeline: str) -> Claim | None:
        return self._one(_claims.c.pipeline == pipeline)

    def of_run(self, run_id: str) -> Claim | None:
        return self._one(_claims.c.run_id == run_id)

    def started(self, claim: Claim, child_pid: int) -> None:
        self._update(claim, child_pid=child_pid, heartbeat_at=_now())

    def beat(self, claim: Claim) -> None:
        self._update(claim, heartbeat_at=_now())

    def release(self, claim: Claim) -> None:
        """Drop the claim, unless another server has taken it over meanwhile."""
        with self.engine.begin() as conn:
            conn.execute(_claims.delete().where(_claims.c.pipeline == claim.pipeline,
                                                _claims.c.run_id == claim.run_id))

    def _update(self, claim: Claim, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(_claims.update().where(_claims.c.pipeline == claim.pipeline,
                                                _claims.c.run_id == claim.run_id)
                         .values(**values))

    def _one(self, where: Any) -> Claim | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_claims).where(where)).first()
        if row is None:
            return None
        values = dict(row._mapping)
        values["params"] = json.loads(values["params"])
        values["claimed_at"] = _utc(values["claimed_at"])
        values["heartbeat_at"] = _utc(values["heartbeat_at"])
        return Claim(**values)


# --- what the API says -----------------------------------------------------------------------

# Non-finite numbers pass here and are refused by _checked_params, which does not echo them:
# a 422 body holding NaN or Infinity cannot be written as JSON.
ParamValue = StrictStr | StrictBool | StrictInt | StrictFloat


class RunRequest(BaseModel):
    """Optional body of a trigger: overrides of the pipeline's declared params."""

    model_config = ConfigDict(extra="forbid")
    params: dict[str, ParamValue] = Field(
        default_factory=dict, max_length=100,
        description="Overrides of declared params, as with 'shipyard run --params KEY=VALUE'; "
                    "checked by the run itself (an unknown or mistyped param fails the run).",
        examples=[{"seed": 7}])


class RunAccepted(BaseModel):
    run_id: str
    pipeline: str
    status: Literal["queued"]
    url: str = Field(description="Where to follow the run (also the Location header).")


class RunBusy(BaseModel):
    detail: str
    run_id: str = Field(description="The run of this pipeline that is still going.")
    url: str


class StepState(BaseModel):
    step: str
    status: str


RunStatus = Literal["queued", "running", "registering", "succeeded", "failed"]


class RunState(BaseModel):
    run_id: str
    pipeline: str
    status: RunStatus = Field(
        description="queued until the run's process has recorded it; registering while its "
                    "models go through the registry (gate, staging, comparison)")
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    steps: list[StepState]


class Problem(BaseModel):
    detail: str


class ValidationProblem(BaseModel):
    detail: list[dict[str, Any]] | str


# --- starting, watching and settling runs ----------------------------------------------------

class PipelineRuns:
    """Starts triggered runs as child processes, watches them, and says how each one went."""

    def __init__(self, project: Project, *, heartbeat_s: float = 10.0,
                 stale_after_s: float = 120.0) -> None:
        self.project = project
        self.runs = RunStore.of(project)
        self.claims = RunClaims(project.metadata_engine)
        self.heartbeat_s = heartbeat_s
        self.stale_after = timedelta(seconds=stale_after_s)
        state = project.state
        self.logs = state.path("runs") if isinstance(state, FolderState) else state.scratch("runs")

    def start(self, pipeline: str, params: dict[str, str]) -> str | RunBusy:
        """Start a run of ``pipeline``: its id, or the run that is in the way."""
        run_id = self.runs.new_run_id(pipeline)
        for _ in range(5):
            claim = self.claims.take(pipeline, run_id, params)
            if claim is None:
                continue
            if claim.run_id == run_id:
                break
            if claim.alive(self.stale_after):
                return self._busy(pipeline, claim.run_id)
            self.settle(claim, None)  # stale: finish its record, then take its place
        else:  # taken again after each takeover: others are starting runs right now
            holder = self.claims.of_pipeline(pipeline)  # (None: gone again; ours is unused)
            return self._busy(pipeline, holder.run_id if holder else run_id)
        running = self._running_elsewhere(pipeline)
        if running is not None:
            self.claims.release(claim)
            return self._busy(pipeline, running)
        try:
            process = self._spawn(claim)
        except BaseException:
            self.claims.release(claim)
            raise
        self.claims.started(claim, process.pid)
        threading.Thread(target=self._watch, args=(claim, process), daemon=True,
                         name=f"watch {run_id}").start()
        return run_id

    def state(self, pipeline: str, run_id: str) -> RunState | None:
        """The run's state, after settling it if its process died unnoticed; None if unknown."""
        record = self._record(run_id)
        if record is None or record.status not in _FINAL:
            claim = self.claims.of_run(run_id)
            if claim is not None and claim.pipeline != pipeline:
                return None
            if claim is not None and not claim.alive(self.stale_after):
                self.settle(claim, None)
            elif (claim is None and record is not None  # a run without a claim (the CLI's)
                  and process_alive(record.host, record.pid) is False):
                mark_interrupted(self.project, self.runs, record)
            # Read again: settled just now, by us or by its watcher (recorded, then released).
            record = self._record(run_id)
            if record is None and claim is not None and claim.alive(self.stale_after):
                return RunState(run_id=run_id, pipeline=pipeline, status="queued",
                                started_at=claim.claimed_at, finished_at=None, error=None,
                                steps=[])
        if record is None or record.pipeline != pipeline:
            return None
        status = cast("RunStatus", record.status if record.status in (*_FINAL, "registering") else "running")
        return RunState(run_id=run_id, pipeline=pipeline, status=status,
                        started_at=record.started_at, finished_at=record.finished_at,
                        error=record.error,
                        steps=[StepState(step=s.step, status=s.status) for s in record.steps])

    def settle(self, claim: Claim, returncode: int | None) -> None:
        """Make the record of an ended (or abandoned) run say so, then drop its claim.

        ``returncode`` is None when the run was found abandoned rather than seen to exit.
        """
        record = self._record(claim.run_id)
        if record is None:
            self._record_failure(claim, self._why_unrecorded(claim, returncode))
        elif record.status not in _FINAL:
            mark_interrupted(self.project, self.runs, record)
        self.claims.release(claim)

    def _watch(self, claim: Claim, process: subprocess.Popen[bytes]) -> None:
        """Reap the child (no zombie), renew the claim meanwhile, then settle its run."""
        while True:
            try:
                returncode = process.wait(timeout=self.heartbeat_s)
                break
            except subprocess.TimeoutExpired:
                try:
                    self.claims.beat(claim)
                except sa.exc.SQLAlchemyError as error:  # retried at the next beat
                    logger.warning("could not renew the claim of run %s: %s", claim.run_id,
                                   error)
        try:
            for attempt in range(30):  # the database may be away for a while
                try:
                    self.settle(claim, returncode)
                    return
                except sa.exc.SQLAlchemyError as error:
                    logger.warning("could not record the end of run %s (attempt %d): %s",
                                   claim.run_id, attempt + 1, error)
                    time.sleep(self.heartbeat_s)
        finally:
            self._keep_log(claim.run_id)
        # Given up: the claim stays until this server stops; then the next trigger settles it.

    def _spawn(self, claim: Claim) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "shipyard", "run", claim.pipeline,
                   f"--run-id={claim.run_id}", "-p", str(self.project.root),
                   "--env", self.project.env_name]
        command += [f"--params={key}={value}" for key, value in claim.params.items()]
        # Wide lines: the error the child prints is read back from this log as one line.
        env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}
        with open(self.log_path(claim.run_id), "wb") as log:
            # A session of its own: stopping the server (Ctrl-C) does not kill the run.
            return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def log_path(self, run_id: str) -> Path:
        """The local file the child's output is written to."""
        return self.logs / f"{run_id}.log"

    def log_where(self, run_id: str) -> str:
        """Where the operator finds the run's output: its key in the state store."""
        return self.project.state.where(f"runs/{run_id}.log")

    def _keep_log(self, run_id: str) -> None:
        """Copy the ended run's output to an object-store state (a folder state has it)."""
        local = self.log_path(run_id)
        if isinstance(self.project.state, FolderState) or not local.exists():
            return
        try:
            self.project.state.put_file(f"runs/{run_id}.log", local)
        except ShipyardError as error:  # the run is recorded whatever happens to its log
            logger.warning("could not keep the output of run %s: %s", run_id, error)
            return
        local.unlink(missing_ok=True)

    def _why_unrecorded(self, claim: Claim, returncode: int | None) -> str:
        if returncode is None:
            return (f"abandoned: the server (pid {claim.server_pid} on {claim.host}) or the run "
                    f"process ended before the run was recorded")
        return (f"the run process ended with exit code {returncode} before recording the run: "
                f"{_last_error(self.log_path(claim.run_id))} "
                f"(full output: {self.log_where(claim.run_id)})")

    def _record_failure(self, claim: Claim, error: str) -> None:
        config = self.project.config.pipelines.get(claim.pipeline)
        try:
            self.runs.start(
                keep_id=True, id=claim.run_id, pipeline=claim.pipeline,
                started_at=claim.claimed_at, params=claim.params,
                executor=config.executor if config else "local", env=self.project.env_name,
                data_versions={}, smoke=False, no_cache=False, host=claim.host,
                pid=claim.child_pid, run_by=self.project.user)
        except PipelineError:  # recorded meanwhile (another server settling it too)
            return
        self.runs.finish(claim.run_id, "failed", claim.claimed_at, error=error)

    def _running_elsewhere(self, pipeline: str) -> str | None:
        """A run of ``pipeline`` started without a claim (from the CLI) whose process lives.

        Only the latest few runs are looked at: a run still going is among them. Such a run
        whose process is gone is marked interrupted, as ``--resume`` would.
        """
        for record in self.runs.recent(limit=20, pipeline=pipeline):
            if record.status in _FINAL:
                continue
            alive = process_alive(record.host, record.pid)
            if alive:
                return record.id
            if alive is False:
                mark_interrupted(self.project, self.runs, self.runs.get(record.id))
        return None

    def _record(self, run_id: str) -> RunRecord | None:
        try:
            return self.runs.get(run_id)
        except NotFoundError:
            return None

    @staticmethod
    def _busy(pipeline: str, run_id: str) -> RunBusy:
        return RunBusy(detail=f"pipeline {pipeline!r} is already running: run {run_id}; wait "
                              f"for it to end (GET its url) and trigger again",
                       run_id=run_id, url=_url(pipeline, run_id))


def _url(pipeline: str, run_id: str) -> str:
    return f"/v1/pipelines/{pipeline}/runs/{run_id}"


def _last_error(log: Path) -> str:
    """The last ``error: ...`` the CLI printed, on one line (else the output's last line)."""
    try:
        text = log.read_bytes()[-8000:].decode("utf-8", errors="replace")
    except OSError:
        return "(no output)"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    starts = [i for i, line in enumerate(lines) if line.lower().startswith("error:")]
    if starts:  # a long message wraps: keep its continuation lines
        return " ".join(lines[starts[-1]:])
    return lines[-1] if lines else "(no output)"


def _checked_params(request: RunRequest | None) -> dict[str, str]:
    """The overrides as the command line takes them; a name or text it cannot carry is a 422.

    Values are not echoed back: a lone surrogate would break the error answer itself.
    """
    params: dict[str, str] = {}
    for name, value in (request.params if request else {}).items():
        if not _PARAM_NAME.match(name):
            raise HTTPException(422, "params: a name must be letters, digits and '_' "
                                     "(not starting with a digit), at most 100 characters")
        if isinstance(value, float) and not math.isfinite(value):
            raise HTTPException(422, f"params.{name}: not a finite number")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise HTTPException(422, f"params.{name}: not valid text (a lone surrogate?); "
                                     f"send UTF-8 text") from None
        if "\x00" in text or len(text) > 1000:
            raise HTTPException(422, f"params.{name}: at most 1000 characters, no NUL")
        params[name] = text
    return params


def pipeline_runs_router(project: Project, read: list[Any], act: list[Any],
                         runs: PipelineRuns | None = None) -> APIRouter:
    """``POST /v1/pipelines/{name}/runs`` and ``GET /v1/pipelines/{name}/runs/{run_id}``.

    ``read`` guards the run states (any valid key), ``act`` the trigger (an operator's key:
    a run may register a version and move its aliases); ``runs`` is for tests that need
    other heartbeat timings.
    """
    runs = runs or PipelineRuns(project)
    router = APIRouter(prefix="/v1/pipelines", tags=["pipelines"])
    errors: dict[int | str, dict[str, Any]] = {
        **error_responses(*SECURED),
        404: {"model": Problem, "description": "No such pipeline (or run of it)."},
        422: {"model": ValidationProblem, "description": "A malformed name or body."},
    }

    def known(name: str) -> None:
        if name not in project.config.pipelines:
            raise NotFoundError(f"unknown pipeline {name!r}; declared: "
                                f"{', '.join(project.config.pipelines) or 'none'}")

    @router.post("/{name}/runs", status_code=202, response_model=RunAccepted, dependencies=act,
                 responses={**errors, **error_responses(400, 403, 413),
                            409: {"model": RunBusy, "description":
                                  "A run of this pipeline is still going."}})
    def trigger(name: str, response: Response,
                request: Annotated[RunRequest | None, Body()] = None) -> Any:
        """Start a run of a declared pipeline, unless one is going; follow it at its url."""
        known(name)
        started = runs.start(name, _checked_params(request))
        if isinstance(started, RunBusy):
            return JSONResponse(started.model_dump(), status_code=409)
        url = _url(name, started)
        response.headers["Location"] = url
        return RunAccepted(run_id=started, pipeline=name, status="queued", url=url)

    @router.get("/{name}/runs/{run_id}", response_model=RunState, dependencies=read,
                responses=errors)
    def run_state(name: str, run_id: Identifier) -> RunState:
        """The state of a run: queued, running, succeeded or failed (with its error)."""
        known(name)
        state = runs.state(name, run_id)
        if state is None:
            raise NotFoundError(f"no run {run_id!r} of pipeline {name!r}")
        return state

    return router
