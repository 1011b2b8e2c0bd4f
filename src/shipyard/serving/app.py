"""The HTTP API: predictions of served models, recommendations, pipeline triggers, health.

:func:`create_app` builds it from the project: routes from what the registry says when the app
is made, and from each version the server takes up later (each served classifier gets its
own, :mod:`shipyard.serving.model_routes`), request
and answer schemas (:mod:`~shipyard.serving.schemas`), the API key
(:mod:`~shipyard.serving.auth`), errors (:mod:`~shipyard.serving.handlers`), request counting
(:mod:`~shipyard.serving.telemetry`) and the limits (:mod:`~shipyard.serving.limits`).
Whatever a request holds, the answer is a status the OpenAPI document lists for its route.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of the route
# functions built below and needs them as objects.
import asyncio
import gc
import re
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.routing import Mount

from shipyard.asgi import BodyLimit, SecurityHeaders, security_headers
from shipyard.batch.results import ResultsStore
from shipyard.config.schema import ServingConfig
from shipyard.project import Project
from shipyard.serving.auth import ApiKeys, require_docs_key, require_key
from shipyard.serving.docs import docs_page
from shipyard.serving.handlers import HANDLERS
from shipyard.serving.invocations import add_invocations_routes
from shipyard.serving.limits import Limits
from shipyard.serving.model_routes import ModelRoutes
from shipyard.serving.monitor_metrics import MonitorStateCollector
from shipyard.serving.pipeline_runs.routes import pipeline_runs_router
from shipyard.serving.predlog import LoggedRefusals, PredictionLog
from shipyard.serving.recommendations import recommendations_router
from shipyard.serving.request_ids import RequestIds
from shipyard.serving.schemas import SECURED, Error, Ready, error_responses
from shipyard.serving.served import ModelSlots, Served
from shipyard.serving.telemetry import Observed, Telemetry
from shipyard.serving.v2 import add_v2_routes
from shipyard.ui import create_ui

__all__ = ["create_app"]


def create_app(project: Project, keys: ApiKeys, config: ServingConfig | None = None) -> FastAPI:
    """The ASGI app for ``project``'s production models (they load once it starts)."""
    config = config or project.config.serving
    names = config.models if config.models is not None else list(project.config.models)
    telemetry = Telemetry()
    telemetry.registry.register(MonitorStateCollector(project))  # rule states, drift shares

    def on_load(served: Served) -> None:  # on the event loop, before the slot takes it
        routes.follow(served)
        telemetry.loaded(served.name, served.version)

    slots = ModelSlots(project, names, on_load=on_load)
    planned = slots.plan()
    log = PredictionLog(project.lake_root, project.storage_options,
                        on_drop=telemetry.dropped_logs.inc) if config.prediction_log else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        # Everything loaded so far (MLflow, scikit-learn: millions of objects) is moved out of
        # the collector's sight, and the models too once loaded (ModelSlots.refresh);
        # otherwise each full collection walks them all and stalls every request in flight
        # for a fifth of a second.
        gc.collect()
        gc.freeze()
        routes.start()
        slots.watch(config.poll_s, asyncio.get_running_loop())
        if log is not None:
            log.start()
        yield
        slots.close()
        await routes.stop()
        if log is not None:
            log.close()

    app = FastAPI(title=f"Shipyard · {project.config.project}", lifespan=lifespan,
                  description="Predictions and recommendations of the production models.",
                  exception_handlers=HANDLERS, docs_url=None, redoc_url=None, openapi_url=None)
    secured = [Depends(require_key(keys))]
    routes = ModelRoutes(app, slots, config, log, secured, on_batch=telemetry.batch, keys=keys)
    add_v2_routes(app, routes, secured, keys)
    add_invocations_routes(app, routes, config, secured, str(project.root / "shipyard.yaml"))
    batchers = routes.batchers
    app.state.slots = slots
    app.state.telemetry = telemetry
    app.state.batchers = batchers

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        """The process is up (no key needed)."""
        return {"status": "ok"}

    # The documents need a key too (see require_docs_key for why), unlike FastAPI's own.
    documents = [Depends(require_docs_key(keys))]

    @app.get("/openapi.json", include_in_schema=False, dependencies=documents)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=documents)
    def docs() -> HTMLResponse:
        return docs_page("/openapi.json", f"{app.title} · docs")

    @app.get("/ready", tags=["operations"], dependencies=secured, response_model=Ready,
             response_model_exclude_none=True,
             responses={**error_responses(*SECURED), 503: {
                 "model": Ready | Error,
                 "description": "A model is not loaded (or has no production version yet) or "
                                "cannot answer, or there is no model to serve at all, or "
                                "overloaded."}})
    def ready(response: Response) -> Ready:
        """Every model this server is to serve is loaded and can answer."""
        loaded = {n: s.version for n, s in slots.current.items()}
        missing = slots.missing()
        stopped = sorted(n for n, b in batchers.items() if not b.alive)
        problems = _nothing_to_serve(project, config) + _not_loaded(
            project, missing, config.poll_s) + (
            [f"not answering (restart the server): {', '.join(stopped)}"] if stopped else [])
        if problems:
            response.status_code = 503
        return Ready(ready=not problems, models=loaded, missing=sorted(missing) or None,
                     detail="; ".join(problems) or None)

    @app.get("/metrics", tags=["operations"], dependencies=secured,
             response_class=PlainTextResponse, responses={
                 200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                       "description": "Prometheus text exposition format."},
                 **error_responses(*SECURED)})
    def metrics() -> Response:
        """Prometheus metrics: requests, latency, batch sizes, model versions, refusals."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(telemetry.registry), media_type=CONTENT_TYPE_LATEST)

    for name, (_, flavor, inputs) in planned.items():
        if flavor != "recommender":
            routes.add(name, inputs)

    app.include_router(recommendations_router(ResultsStore.of(project), config, slots, log,
                                              secured))
    app.include_router(pipeline_runs_router(project, secured,
                                            [Depends(require_key(keys, "operator"))]))
    app.router.routes.append(_WholeMount("/ui", app=create_ui(project.root, keys,
                                                             default_env=project.env_name)))

    # The last added is the outermost: limits refuse before anything is counted or routed.
    def rejected(reason: str) -> None:
        telemetry.rejected.labels(reason).inc()

    app.add_middleware(Observed, telemetry=telemetry)
    app.add_middleware(Limits, max_concurrency=config.max_concurrency,
                       max_queue=config.max_queue, timeout_s=config.timeout_s,
                       on_reject=rejected)
    app.add_middleware(BodyLimit, max_body_bytes=config.max_body_bytes, on_reject=rejected)
    app.add_middleware(SecurityHeaders, headers=security_headers())  # /ui and /docs keep theirs
    app.add_middleware(LoggedRefusals, log=log, served=lambda name: (
        name in slots.names, getattr(slots.current.get(name), "version", None)))
    app.add_middleware(RequestIds)  # outermost: the limits' refusals carry an id too
    return app


def _nothing_to_serve(project: Project, config: ServingConfig) -> list[str]:
    """What ``/ready`` says of a server with no model to serve at all: every predict is a 404
    there, so it is not ready, whatever else answers."""
    if config.models or (config.models is None and project.config.models):
        return []
    where = project.root / "shipyard.yaml"
    declared = ", ".join(project.config.models)
    if declared:  # serving.models: [] in a project with models
        said = (f"serving.models in {where} lists no model: name the ones this server is to "
                f"serve (declared: {declared}), or remove the setting to serve them all, and "
                f"restart the server")
    else:
        said = (f"no model to serve: {where} declares none under models: declare one with the "
                f"pipeline that trains it, train it ('{project.command('run PIPELINE')}'), "
                f"promote a version, and restart the server")
    return [said]


def _not_loaded(project: Project, missing: dict[str, int | None], poll_s: float) -> list[str]:
    """What ``/ready`` says of the served models not loaded: those loading, and those with no
    production version, with the commands that give them one."""
    loading = [f"{name} v{version}" for name, version in sorted(missing.items())
               if version is not None]
    said = [f"loading: {', '.join(loading)}"] if loading else []
    for name in sorted(n for n, version in missing.items() if version is None):
        model = project.config.models.get(name)
        train = project.command(f"run {model.pipeline if model is not None else 'PIPELINE'}")
        promote = project.command(f"models promote {name} VERSION --reason ...")
        said.append(f"model {name} has no production version yet: train it ('{train}') and "
                    f"promote a version ('{promote}'); this server takes it up by itself "
                    f"(it checks every {poll_s:g} s)")
    return said


class _WholeMount(Mount):
    """A mount whose pattern also takes a newline (``%0A``) in the rest of the path: Starlette's
    ``.*`` does not, so such an address under /ui fell through to the API's JSON 404 instead
    of the web UI's own error page."""

    def __init__(self, path: str, app: Any) -> None:
        super().__init__(path, app=app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)
