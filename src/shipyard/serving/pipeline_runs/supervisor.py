"""Triggered runs as child processes: started under a claim, watched, reaped and settled.

A ``shipyard run --run-id ID`` child process, so a crash of the run cannot take the server down;
a thread per child waits for it (no zombie), renews its claim meanwhile, and settles its record.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import cast

import sqlalchemy as sa

from shipyard.errors import NotFoundError, PipelineError, ShipyardError
from shipyard.pipeline.provenance import process_alive
from shipyard.project import Project
from shipyard.runs import mark_interrupted
from shipyard.serving.pipeline_runs.claims import Claim, RunClaims
from shipyard.serving.pipeline_runs.schemas import RunBusy, RunState, RunStatus, StepState, run_url
from shipyard.state import FolderState
from shipyard.tracking.records import RunRecord, RunStore

__all__ = ["PipelineRuns"]

logger = logging.getLogger(__name__)

_FINAL = ("succeeded", "failed")


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
                       run_id=run_id, url=run_url(pipeline, run_id))


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
