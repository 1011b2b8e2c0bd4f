"""``POST /v1/pipelines/{name}/runs`` and ``GET /v1/pipelines/{name}/runs/{run_id}``."""

# No ``from __future__ import annotations``: FastAPI reads the route annotations as objects.
import math
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Response
from fastapi.responses import JSONResponse

from shipyard.errors import NotFoundError
from shipyard.project import Project
from shipyard.serving.pipeline_runs.schemas import (
    Problem,
    RunAccepted,
    RunBusy,
    RunRequest,
    RunState,
    ValidationProblem,
    run_url,
)
from shipyard.serving.pipeline_runs.supervisor import PipelineRuns
from shipyard.serving.schemas import SECURED, Identifier, error_responses

__all__ = ["pipeline_runs_router"]

_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


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
        url = run_url(name, started)
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
