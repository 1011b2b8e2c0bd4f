"""What the pipeline-run endpoints take and answer (their OpenAPI schemas)."""

# No ``from __future__ import annotations``: FastAPI and pydantic read the annotations as objects.
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

__all__ = ["ParamValue", "Problem", "RunAccepted", "RunBusy", "RunRequest", "RunState", "RunStatus",
           "StepState", "ValidationProblem", "run_url"]

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


def run_url(pipeline: str, run_id: str) -> str:
    """Where a run is followed: the 202's ``Location`` and the 409's ``url``."""
    return f"/v1/pipelines/{pipeline}/runs/{run_id}"
