"""The MLflow side of a pipeline run: a parent run, one nested run per executed step.

The runner knows nothing of MLflow: :class:`MlflowRunRecords` follows a run through the
runner's hooks (``before_run``, ``after_step``, ``run_finished``, ``run_abandoned``) and links
each MLflow run to the run record in the metadata database (its ``mlflow_run_id`` columns).
Every write is a batch (``log_batch``) so a step costs three small calls (create, batch,
terminate) whatever it logged. Logging problems are warned about, not raised: a run's work
must not be lost because the tracking server hiccuped.
"""

from __future__ import annotations

import json
import logging
import shutil
from typing import TYPE_CHECKING, Any

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from shipyard.errors import ShipyardError
from shipyard.names import FINGERPRINT, GIT_COMMIT, GIT_DIRTY, RUN_ID
from shipyard.redact import redact_url, reveal
from shipyard.state import FolderState
from shipyard.tracking.records import RunRecord, RunStore, TrackedRun
from shipyard.tracking.setup import tracking_client, use_project

if TYPE_CHECKING:
    from shipyard.project import Project

__all__ = ["MlflowRunRecords", "lineage_tags", "mark_killed", "run_metrics"]

logger = logging.getLogger(__name__)

_BATCH = 100  # MLflow accepts at most 100 params or tags, 1000 metrics, per batch call
_END = {"succeeded": "FINISHED", "failed": "FAILED", "killed": "KILLED"}


def lineage_tags(*, run_id: str, pipeline: str, git_commit: str | None, git_dirty: bool | None,
                 data_versions: dict[str, int]) -> dict[str, str]:
    """The tags that say which run, code and data made something (a run or a model version).

    One builder for both, so a missing commit reads the same ("unknown") everywhere.
    """
    tags = {RUN_ID: run_id, "shipyard.pipeline": pipeline,
            GIT_COMMIT: git_commit or "unknown",
            GIT_DIRTY: "unknown" if git_dirty is None else str(git_dirty).lower()}
    tags.update({f"shipyard.data.{table}": str(v) for table, v in data_versions.items()})
    return tags


class MlflowRunRecords:
    """Runner hooks that record a run in MLflow; built before the run, so an unreachable
    tracking store fails the command before anything runs."""

    def __init__(self, project: Project) -> None:
        try:
            self.client = tracking_client(project)  # fails fast, naming the store
            self.experiment_id: str = use_project(project, client=self.client)
        except ShipyardError:
            raise
        except Exception as error:  # MLflow raises many kinds; all mean the same here
            raise ShipyardError(
                f"cannot record the run in MLflow at {redact_url(project.tracking_uri)}: "
                f"{error}. Check environments.{project.env_name}.tracking_uri in shipyard.yaml "
                f"and that the tracking server is up."
            ) from error
        self.project = project
        self.runs = RunStore.of(project)
        self.run_id: str | None = None

    def before_run(self, record: RunRecord) -> TrackedRun:
        """Open the parent run, tagged for lineage, with the run's params and code snapshot."""
        tags = {**lineage_tags(run_id=record.id, pipeline=record.pipeline,
                               git_commit=record.git_commit, git_dirty=record.git_dirty,
                               data_versions=record.data_versions),
                "shipyard.env": record.env, "shipyard.executor": record.executor,
                "shipyard.smoke": str(record.smoke).lower()}
        if record.git_commit:
            tags["mlflow.source.git.commit"] = record.git_commit
        if record.sample is not None:
            tags["shipyard.sample"] = str(record.sample)
        if record.resumed_from:
            tags["shipyard.resumed_from"] = record.resumed_from
        run = self.client.create_run(self.experiment_id, run_name=record.id, tags=tags)
        self.run_id = run.info.run_id
        self.runs.update(record.id, mlflow_run_id=self.run_id)
        values = [Param(k, v if isinstance(v, str) else json.dumps(v, default=str)[:6000])
                  for k, v in sorted(record.params.items())]
        for i in range(0, len(values), _BATCH):
            self.client.log_batch(self.run_id, params=values[i:i + _BATCH])
        if record.snapshot_path:
            try:
                self._log_snapshot(record.snapshot_path)
            except Exception as error:  # noqa: BLE001 - the snapshot is also kept in the state
                logger.warning("could not log the code snapshot to MLflow: %s", error)
        return TrackedRun(run_id=self.run_id,
                          environ={"MLFLOW_TRACKING_URI": self.project.tracking_uri,
                                   "MLFLOW_EXPERIMENT_ID": self.experiment_id})

    def _log_snapshot(self, where: str) -> None:
        """Log the run's code snapshot (kept in the state store) as ``shipyard/<run>.tar.gz``;
        MLflow logs local files, so one in an object store is copied to scratch first."""
        assert self.run_id is not None
        state = self.project.state
        key = state.key_of(where)
        if isinstance(state, FolderState) or key is None:
            self.client.log_artifact(self.run_id, where, "shipyard")
            return
        scratch = state.scratch("snapshots")
        try:
            local = state.get_file(key, scratch / key.rsplit("/", 1)[-1])
            self.client.log_artifact(self.run_id, str(local), "shipyard")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def after_step(self, run_id: str, result: Any, outcome: Any) -> None:
        """A nested run for an executed step, with its duration and the metrics it logged."""
        try:
            run = self.client.create_run(
                self.experiment_id, start_time=int(outcome.started_at * 1000),
                run_name=result.name,
                tags={MLFLOW_PARENT_RUN_ID: self.run_id, "shipyard.step": result.name,
                      FINGERPRINT: result.fingerprint})
            end = int(outcome.finished_at * 1000)
            metrics = [Metric("duration_s", outcome.duration_s, end, 0)]
            metrics += [Metric(k, v, ts, n) for k, v, ts, n in outcome.metrics]
            for i in range(0, len(metrics), 1000):
                self.client.log_batch(run.info.run_id, metrics=metrics[i:i + 1000])
            self.client.set_terminated(run.info.run_id, "FINISHED" if outcome.ok else "FAILED",
                                       end_time=end)
        except Exception as error:  # noqa: BLE001 - see the module docstring
            logger.warning("could not log step %s to MLflow: %s", result.name, error)
            return
        self.runs.update_step(run_id, result.name, mlflow_run_id=str(run.info.run_id))

    def run_finished(self, run_id: str, status: str) -> None:
        """Close the parent run: ``succeeded``, ``failed`` or ``killed`` (interrupted)."""
        if self.run_id is None:
            return
        try:
            self.client.set_terminated(self.run_id, _END[status])
        except Exception as error:  # noqa: BLE001 - see the module docstring
            logger.warning("could not close MLflow run %s: %s", self.run_id, error)

    def run_abandoned(self, record: RunRecord) -> None:
        if record.mlflow_run_id:
            mark_killed(self.project.tracking_uri, record.mlflow_run_id)


def mark_killed(tracking_uri: str, mlflow_run_id: str) -> None:
    """Close the MLflow run of a run whose process died, and every nested run (a step, a
    tuning trial) it left open: a killed process cannot say it ended."""
    client = MlflowClient(tracking_uri=reveal(tracking_uri))
    try:
        parent = client.get_run(mlflow_run_id)
        nested = client.search_runs(
            [parent.info.experiment_id],
            f"tags.{MLFLOW_PARENT_RUN_ID} = '{mlflow_run_id}' and "
            f"attributes.status = 'RUNNING'")
        for run in [parent, *nested]:
            if run.info.status == "RUNNING":
                client.set_terminated(run.info.run_id, "KILLED")
    except Exception as error:  # noqa: BLE001 - see the module docstring
        logger.warning("could not close MLflow run %s: %s", mlflow_run_id, error)


def run_metrics(run: RunRecord) -> dict[str, dict[str, float]]:
    """Metrics of the run's MLflow parent run and of each step's nested run."""
    if not run.tracking_uri or not run.mlflow_run_id:
        return {}
    client = MlflowClient(tracking_uri=reveal(run.tracking_uri))  # records keep it redacted
    found: dict[str, dict[str, float]] = {}
    ids = [("run", run.mlflow_run_id)] + [(s.step, s.mlflow_run_id) for s in run.steps
                                           if s.mlflow_run_id]
    for label, mlflow_id in ids:
        try:
            metrics = dict(client.get_run(mlflow_id).data.metrics)
        except Exception as error:  # noqa: BLE001 - show the record even if MLflow is down
            logger.warning("MLflow run %s unreadable: %s", mlflow_id, error)
            continue
        if metrics:
            found[label] = metrics
    return found
