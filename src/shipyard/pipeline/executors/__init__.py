"""Where steps run: ``local`` (in-process, the default) or ``dask`` (a Dask cluster).

Both implement the small :class:`Executor` ABC and pass the same contract tests, so a pipeline
gives the same outputs, fingerprints and records whichever runs it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from shipyard.errors import PipelineError
from shipyard.pipeline.executors.base import Executor
from shipyard.pipeline.executors.execute import execute_task
from shipyard.pipeline.executors.tasks import StepTask, TaskResult

if TYPE_CHECKING:
    from shipyard.config.schema import PipelineConfig
    from shipyard.project import Project

__all__ = ["EXECUTORS", "Executor", "StepTask", "TaskResult", "create_executor", "execute_task"]

EXECUTORS = ("local", "dask")


def create_executor(name: str, project: Project, pipeline: str,
                    config: PipelineConfig) -> Executor:
    """The executor called ``name``, set up from the pipeline's declaration."""
    if name == "local":
        from shipyard.pipeline.executors.local import LocalExecutor

        return LocalExecutor(project)
    if name == "dask":
        from shipyard.pipeline.executors.dask import DaskExecutor

        if config.dask_address:
            return DaskExecutor(config.dask_address,
                                where=f"pipelines.{pipeline}.dask_address in shipyard.yaml")
        # The address a platform gives its pods (the team stack, a Dask Helm chart's
        # DASK_SCHEDULER_ADDRESS) serves every pipeline that names none.
        return DaskExecutor(os.environ.get("DASK_SCHEDULER_ADDRESS") or None,
                            where="the environment variable DASK_SCHEDULER_ADDRESS")
    raise PipelineError(f"unknown executor {name!r}; expected one of {', '.join(EXECUTORS)}")
