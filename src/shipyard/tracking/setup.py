"""Point MLflow at the project's tracking store and its experiment.

With the embedded SQLite store MLflow would put artifacts under ``./mlruns`` of whatever folder
the command ran in; the experiment is created with an artifact root inside the project's state
folder instead, so runs are found again from anywhere.
"""

from __future__ import annotations

import os

import mlflow
from mlflow.tracking import MlflowClient

from shipyard.project import Project

__all__ = ["experiment_for", "use_project"]


def _artifact_root(project: Project) -> str:
    path = project.state_dir / "mlartifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path.as_uri()


def experiment_for(project: Project, name: str | None = None, *,
                   client: MlflowClient | None = None) -> str:
    """The id of the project's experiment (``<project>`` or ``<project>/<name>``), created once."""
    client = client or MlflowClient(tracking_uri=project.tracking_uri)
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
    os.environ["MLFLOW_TRACKING_URI"] = project.tracking_uri
    if mlflow.get_tracking_uri() != project.tracking_uri:
        mlflow.set_tracking_uri(project.tracking_uri)
    mlflow.set_registry_uri(project.tracking_uri)
    experiment_id = experiment_for(project, name, client=client)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id
