"""Point MLflow at the project's tracking store and its experiment.

With the embedded SQLite store MLflow would put artifacts under ``./mlruns`` of whatever folder
the command ran in; the experiment is created with an artifact root inside the environment's
state instead (its folder, or its object store), so runs are found again from anywhere. A
tracking server keeps artifacts where it was told to (``mlflow-artifacts:``, proxied).

MLflow retries an unreachable store for minutes (ten attempts with growing waits for a
database) and then raises a driver traceback; the store is probed once per process first, so
that a down server fails in seconds with an error naming the store and the setting to fix.
A PostgreSQL-backed store whose database does not exist yet is created by that probe, before
MLflow first connects (MLflow would otherwise retry, then fail with a driver traceback).
"""

from __future__ import annotations

import os

import httpx
import mlflow
from mlflow.tracking import MlflowClient

from shipyard.db import check_connection, create_engine_for, ensure_database, unreachable
from shipyard.errors import ConfigError
from shipyard.project import Project
from shipyard.state import FolderState

__all__ = ["check_tracking_store", "experiment_for", "tracking_client", "use_project"]

_PURPOSE = "tracking store"
_DATABASES = ("postgresql", "mysql", "mssql")  # MLflow's SQL stores other than a local file
_checked: set[str] = set()


def check_tracking_store(uri: str) -> None:
    """Raise ``StoreUnreachable`` when the tracking store at ``uri`` does not answer.

    A PostgreSQL store's missing database is created first (``DatabaseMissing`` when the
    server does not allow it).
    """
    if uri in _checked:
        return
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in _DATABASES:
        engine = create_engine_for(uri, purpose=_PURPOSE)
        try:
            ensure_database(engine, purpose=_PURPOSE)
            check_connection(engine, purpose=_PURPOSE)
        finally:
            engine.dispose()
    elif scheme in ("http", "https"):
        try:
            httpx.get(uri.rstrip("/") + "/health", timeout=10)
        except httpx.TransportError as error:
            raise unreachable(_PURPOSE, uri, error) from None
    _checked.add(uri)


def tracking_client(project: Project) -> MlflowClient:
    """A client of the project's tracking store and model registry, checked to answer."""
    check_tracking_store(project.tracking_uri)
    return MlflowClient(tracking_uri=project.tracking_uri, registry_uri=project.tracking_uri)


_MLFLOW_SCHEMES = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs", "abfss": "abfss"}
"""State URL scheme → the scheme MLflow's artifact stores know it by."""


def _artifact_root(project: Project) -> str | None:
    """Where a new experiment keeps its artifacts, or None for the tracking server's default.

    A tracking server (``http(s)://``) proxies artifacts to the store it was started with
    (``mlflow-artifacts:``); every client reaches them through it, so none is named here. A
    database or SQLite store has no server: artifacts go beside the state, where every process
    of the environment reads them (``<state>/mlartifacts``).
    """
    uri = project.tracking_uri
    if uri.startswith(("http://", "https://")):
        return None
    state = project.state
    if isinstance(state, FolderState):
        path = state.path("mlartifacts")
        path.mkdir(parents=True, exist_ok=True)
        return path.as_uri()
    scheme, rest = state.location.split("://", 1)
    if scheme not in _MLFLOW_SCHEMES:
        raise ConfigError(
            f"MLflow cannot keep artifacts at {state.where('mlartifacts')}: it has no "
            f"{scheme}:// artifact store. Set environments.{project.env_name}.tracking_uri to "
            f"an MLflow server (http://...) started with --artifacts-destination, or give "
            f"environments.{project.env_name}.state as abfss://<container>@<account>"
            f".dfs.core.windows.net/<path>")
    return f"{_MLFLOW_SCHEMES[scheme]}://{rest}/mlartifacts"


def experiment_for(project: Project, name: str | None = None, *,
                   client: MlflowClient | None = None) -> str:
    """The id of the project's experiment (``<project>`` or ``<project>/<name>``), created once."""
    client = client or tracking_client(project)
    experiment_name = project.config.project if name is None else f"{project.config.project}/{name}"
    found = client.get_experiment_by_name(experiment_name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(experiment_name, artifact_location=_artifact_root(project))
    except mlflow.exceptions.MlflowException:  # another process created it meanwhile
        found = client.get_experiment_by_name(experiment_name)
        assert found is not None
        return found.experiment_id


def use_project(project: Project, name: str | None = None, *,
                client: MlflowClient | None = None) -> str:
    """Make the fluent ``mlflow`` API log to this project; returns the experiment id.

    The URI goes to ``MLFLOW_TRACKING_URI``, which the fluent API reads when nothing was set
    in-process; ``set_tracking_uri`` (which also rebuilds MLflow's tracing provider, a fifth
    of a cached run) is called only when another URI was set explicitly before.
    """
    check_tracking_store(project.tracking_uri)
    os.environ["MLFLOW_TRACKING_URI"] = project.tracking_uri
    if mlflow.get_tracking_uri() != project.tracking_uri:
        mlflow.set_tracking_uri(project.tracking_uri)
    mlflow.set_registry_uri(project.tracking_uri)
    experiment_id = experiment_for(project, name, client=client)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id
