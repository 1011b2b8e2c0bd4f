"""From a request id to everything that made its answer: the logged request (inputs and
output, or the recommendations served), the model version, its training run, the lake versions
it was trained on, and the git commit.

The request is looked up in the log tables (:mod:`shipyard.monitoring.logschema`) with the id
pushed down to the Delta scan as a filter: partitions outside the retention window are never
opened, and a ULID (the ids the server makes) names its day, so only that day's files are read
first (the files' statistics on ``request_id``, which sorts by time, skip most of the rest).
Only when the day holds nothing (an id the client made) is the whole window scanned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shipyard.errors import NotFoundError
from shipyard.monitoring.logschema import request_day
from shipyard.monitoring.maintenance import log_tables
from shipyard.names import GIT_COMMIT, GIT_DIRTY, RUN_ID

if TYPE_CHECKING:
    import pyarrow as pa

    from shipyard.project import Project

__all__ = ["Logged", "Trace", "find_request", "trace"]


@dataclass(frozen=True)
class Logged:
    """A request as logged: one row per predicted row, or the one recommendations row."""

    request_id: str
    table: str  # e.g. predictions/titanic, recommendations
    model: str
    version: int | None  # None: a recommendations set the results store gave no version for
    time: datetime
    rows: list[dict[str, Any]]

    @property
    def is_recommendation(self) -> bool:
        return self.table == "recommendations"


@dataclass(frozen=True)
class Trace:
    """A logged request and the lineage of the model version that answered it."""

    logged: Logged
    mlflow_run_id: str | None
    pipeline: str | None
    pipeline_run_id: str | None
    git_commit: str | None  # None: not recorded (the project was not a git repository)
    git_dirty: str | None
    data_versions: dict[str, str] = field(default_factory=dict)
    code_snapshot: str | None = None


def _lookup(path: str, storage_options: dict[str, str] | None, request_id: str,
            days: tuple[date, date] | date) -> pa.Table | None:
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(path, storage_options=storage_options):
        return None
    dataset = DeltaTable(path, storage_options=storage_options).to_pyarrow_dataset()
    if isinstance(days, date):
        in_days = ds.field("day") == days.isoformat()
    else:
        in_days = ((ds.field("day") >= days[0].isoformat())
                   & (ds.field("day") <= days[1].isoformat()))
    found = dataset.to_table(filter=in_days & (ds.field("request_id") == request_id))
    return found if found.num_rows else None


def find_request(project: Project, request_id: str, *, now: datetime | None = None) -> Logged:
    """The logged request ``request_id`` of the last ``monitoring.retention_days``.

    Raises:
        NotFoundError: no log table holds it, naming the tables and the window searched.
    """
    end = (now or datetime.now(UTC)).date()
    window = (end - timedelta(days=project.config.monitoring.retention_days), end)
    made = request_day(request_id)
    tables = log_tables(project)
    tries: list[tuple[date, date] | date] = (
        [made, window] if made is not None and window[0] <= made <= window[1] else [window])
    for days in tries:
        for name, path in tables.items():
            found = _lookup(path, project.storage_options, request_id, days)
            if found is not None:
                rows = sorted(found.to_pylist(), key=lambda r: r.get("row") or 0)
                first = rows[0]
                model = first.get("model") or name.removeprefix("predictions/")
                return Logged(request_id, name, model, first["version"], first["time"], rows)
    raise NotFoundError(
        f"no request {request_id!r} logged from {window[0]} to {window[1]} (the last "
        f"{project.config.monitoring.retention_days} days: monitoring.retention_days) in "
        f"{', '.join(tables.values())}; the id is the X-Request-ID header of the server's "
        f"answer, and requests are logged when serving.prediction_log is true (the default)")


def trace(project: Project, request_id: str, *, now: datetime | None = None) -> Trace:
    """The logged request ``request_id`` and the lineage of the version that answered it,
    from the registry's tags on that version and the pipeline run that made it."""
    from shipyard.registry.client import Registry
    from shipyard.tracking.records import RunStore

    logged = find_request(project, request_id, now=now)
    if logged.version is None:
        return Trace(logged, None, None, None, None, None)
    version = Registry.of(project).get(logged.model, logged.version)
    tags = dict(version.tags)
    commit = tags.get(GIT_COMMIT)
    run_id = tags.get(RUN_ID)
    snapshot = None
    if run_id:
        try:
            snapshot = RunStore.of(project).get(run_id).snapshot_path
        except NotFoundError:  # recorded in another environment's metadata, or cleaned up
            snapshot = None
    return Trace(logged, version.run_id, tags.get("shipyard.pipeline"), run_id,
                 None if commit in (None, "unknown") else commit,
                 tags.get(GIT_DIRTY),
                 {k.removeprefix("shipyard.data."): v for k, v in sorted(tags.items())
                  if k.startswith("shipyard.data.")}, snapshot)
