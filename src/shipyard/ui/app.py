"""The web UI as an ASGI app: pages, sign-in, static files; mounted by the server at ``/ui``.

:func:`create_ui` builds it; ``shipyard serve`` mounts it beside the API and ``shipyard ui``
serves it alone (:func:`standalone`, which mounts it at the same ``/ui`` so links and cookies
are the same either way). Pages are the routers of :data:`PAGES`; each route takes its
signed-in session from :mod:`shipyard.ui.session` and answers with
:func:`shipyard.ui.render.render`. Library errors become an error page with the error's own
HTTP status and message, as the CLI prints them.
"""

from __future__ import annotations

import hmac
import importlib
import secrets
import time
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.asgi import BodyLimit, SecurityHeaders, security_headers
from shipyard.errors import NotPermitted, ShipyardError, SignInRequired, TooManyWrongKeys
from shipyard.project import Project
from shipyard.ui.render import href, render
from shipyard.ui.session import (
    COOKIE,
    SIGN_IN_COOKIE,
    KeyRoles,
    Sessions,
    csrf,
    login_redirect,
    read_form,
)

__all__ = ["PAGES", "create_ui", "standalone"]

PAGES = (
    "shipyard.ui.pages.overview",
    "shipyard.ui.pages.lake",
    "shipyard.ui.pages.runs",
    "shipyard.ui.pages.models",
    "shipyard.ui.pages.monitoring",
    "shipyard.ui.pages.recommendations",
    "shipyard.ui.pages.reports",
)
"""Modules whose ``router`` holds the pages, one line per page module."""

STATIC = Path(__file__).with_name("static")


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_ui(project_dir: Path, keys: KeyRoles, *, default_env: str) -> FastAPI:
    """The UI of the project in ``project_dir``; pages show ``default_env`` unless ``?env=``
    picks another of the project's environments. ``keys`` gives each API key's role."""
    home = Project.open(project_dir, default_env)
    config = home.config
    app = FastAPI(title=f"Shipyard UI · {config.project}", docs_url=None, redoc_url=None,
                  openapi_url=None)
    # Sessions live in the default environment's metadata database, which every server of
    # this deployment shares: signed in through one, a browser is signed in through all.
    app.state.sessions = Sessions(keys, home.metadata_engine)
    app.state.project_dir = home.root
    app.state.default_env = default_env
    app.state.envs = sorted(config.environments)
    app.state.projects = {default_env: home}
    app.state.project_name = config.project

    @app.exception_handler(SignInRequired)
    def sign_in_first(request: Request, _: SignInRequired) -> Response:
        return RedirectResponse(login_redirect(request), status_code=303)

    @app.exception_handler(ShipyardError)
    def library_error(request: Request, error: ShipyardError) -> Response:
        title = "Not allowed" if isinstance(error, NotPermitted) else "Could not do that"
        page = _error_page(request, error.http_status, title, str(error))
        page.headers.update(error.http_headers)
        return page

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, error: StarletteHTTPException) -> Response:
        message = ("no such page here; the navigation bar leads to every page"
                   if error.status_code == 404 else str(error.detail))
        page = _error_page(request, error.status_code, "Not found" if error.status_code == 404
                           else "Could not do that", message)
        page.headers.update(error.headers or {})  # a 405's Allow
        return page

    @app.exception_handler(RequestValidationError)
    def bad_address(request: Request, error: RequestValidationError) -> Response:
        wrong = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in error.errors())
        return _error_page(request, 400, "Could not do that", f"this address does not fit the page: {wrong}")

    plotly_js = _plotly_js()

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_min_js() -> FileResponse:
        """plotly.js from the installed plotly package: the version its figures are made for."""
        return FileResponse(plotly_js, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request) -> Response:
        return _sign_in_form(request, next=_safe_next(request.query_params.get("next")))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await read_form(request)
        target = _safe_next(form.get("next"))
        if not _sign_in_token_matches(request, form):
            return _sign_in_form(request, status_code=403, next=target,
                                 error="this sign-in form's token is missing or not this "
                                       "browser's: sign in again from this page")
        sessions: Sessions = request.app.state.sessions
        sessions.sign_out(request.cookies.get(COOKIE, ""))  # signing in again ends the old one
        try:
            session = sessions.sign_in(form.get("key", ""), request.client.host
                                       if request.client is not None else "unknown")
        except TooManyWrongKeys as refused:
            page = _sign_in_form(request, status_code=429, next=target, error=str(refused))
            page.headers.update(refused.response_headers())
            return page
        if session is None:
            return _sign_in_form(request, status_code=401, next=target,
                                 error="that key is not one this server accepts")
        response = RedirectResponse(target or href(request, "/"), status_code=303)
        response.set_cookie(COOKIE, session.id, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https",
                            path=request.scope.get("root_path") or "/")
        response.delete_cookie(SIGN_IN_COOKIE, path=_sign_in_path(request))
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, _: Annotated[dict[str, str], Depends(csrf)]) -> Response:
        request.app.state.sessions.sign_out(request.cookies.get(COOKIE, ""))
        response = RedirectResponse(f"{request.scope.get('root_path', '')}/login", status_code=303)
        response.delete_cookie(COOKIE, path=request.scope.get("root_path") or "/")
        return response

    for module in PAGES:
        app.include_router(importlib.import_module(module).router)
    app.add_middleware(SecurityHeaders, headers=security_headers(PAGE_POLICY))
    app.add_middleware(ServerTiming)
    return app


PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
"""The content security policy of the UI's pages: scripts, styles and images from the UI's own
files only, no inline script (data planted in a page cannot run), forms that post only here,
and no framing by another site (an accept or promote button under someone else's page).
Styles may be inline: plotly.js sizes its charts with style attributes."""


class ServerTiming:
    """ASGI middleware: every answer says how long the server took to make it in a
    ``Server-Timing: app;dur=MS`` header (browsers' developer tools show it; the UI
    benchmark reads it), from the request's arrival to the answer's headers: pages render
    whole before they are sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - started) * 1000
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      (b"server-timing", f"app;dur={took:.1f}".encode())]
            await send(message)

        await self.app(scope, receive, timed)


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    """The error page, with the navigation bar when the browser is signed in (the error may
    have come before the route's own session dependency ran)."""
    if getattr(request.state, "session", None) is None:
        request.state.session = request.app.state.sessions.get(request.cookies.get(COOKIE))
    return render(request, "error.html", status_code=status, title=title, message=message)


def _sign_in_path(request: Request) -> str:
    return f"{request.scope.get('root_path', '')}/login"


def _sign_in_token_matches(request: Request, form: dict[str, str]) -> bool:
    """Whether the form brings the token its sign-in page put in this browser's cookie: a form
    on another site would sign the browser in with that site's key (login CSRF), and it can
    neither read the page's token nor set the cookie."""
    sent = form.get("csrf_token", "")
    return bool(sent) and hmac.compare_digest(
        sent.encode(), request.cookies.get(SIGN_IN_COOKIE, "").encode())


def _sign_in_form(request: Request, *, status_code: int = 200, **context: object) -> Response:
    """The sign-in page with a fresh token in its form and in a cookie only the sign-in page
    gets: the POST must bring both, which a form on another site cannot (login CSRF)."""
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", status_code=status_code, sign_in_token=token,
                      **context)
    response.set_cookie(SIGN_IN_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path=_sign_in_path(request))
    return response


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site to go back to after sign-in, never another site's URL."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def standalone(project_dir: Path, keys: KeyRoles, *, default_env: str) -> FastAPI:
    """The UI alone (``shipyard ui``): mounted at ``/ui`` as in the server, ``/`` leads there,
    behind the body limit ``shipyard serve`` has (``serving.max_body_bytes``)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    ui = create_ui(project_dir, keys, default_env=default_env)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.mount("/ui", ui)
    app.add_middleware(BodyLimit, max_body_bytes=ui.state.projects[default_env].config
                       .serving.max_body_bytes)
    app.add_middleware(SecurityHeaders, headers=security_headers())  # the limit's 413 too
    return app

