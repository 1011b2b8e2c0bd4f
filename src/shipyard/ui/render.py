"""Pages from templates: every page gets who is signed in, the environment and the navigation.

:func:`render` is the one way a page answers with HTML. It adds to the template's context
``user``, ``role``, ``env``, ``envs``, ``csrf_token``, ``nav``, ``flash`` and two helpers:
``href(path, **query)`` (a link inside the UI that keeps the selected environment),
``csrf_input()`` (the hidden field every POST form carries), ``command(args)`` (``shipyard
ARGS`` for the selected environment, as the CLI's own messages suggest commands) and
``report_href(where)`` (the UI's link to a report a record names by its path, or None).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from shipyard.hints import command

__all__ = ["NAV", "href", "render", "templates"]

NAV: tuple[tuple[str, str], ...] = (
    ("Overview", "/"),
    ("Lake", "/lake"),
    ("Runs", "/runs"),
    ("Models", "/models"),
    ("Monitoring", "/monitoring"),
    ("Recommendations", "/recommendations"),
)
"""The navigation bar: (label, path under /ui); a page is "current" when its path leads."""

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
templates.env.globals["NAV"] = NAV


def href(request: Request, path: str, **query: Any) -> str:
    """``/ui{path}?env=…&…``: a link inside the UI, keeping the selected environment; query
    values that are None are left out."""
    base = request.scope.get("root_path", "")
    params = {"env": _env(request)}
    params.update({k: v for k, v in query.items() if v is not None})
    return f"{base}{path}?{urlencode(params)}"


def _env(request: Request) -> str:
    """The selected environment, or the default one when ``?env=`` names none of the project's
    (that request's page is the error page, whose links lead back to a real one)."""
    env: str = request.query_params.get("env", "")
    return env if env in request.app.state.envs else request.app.state.default_env


def _report_href(request: Request, where: str | None) -> str | None:
    from shipyard.ui.pages.reports import report_href  # the page module renders with this one

    return report_href(request, where)


def _section(request: Request) -> str:
    """The nav entry the page belongs to ("/" only for the overview itself)."""
    base = request.scope.get("root_path", "")
    path = request.url.path.removeprefix(base) or "/"
    for _, prefix in sorted(NAV, key=lambda item: -len(item[1])):
        if prefix != "/" and (path == prefix or path.startswith(prefix + "/")):
            return prefix
    return "/"


def render(request: Request, template: str, *, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """``template`` filled with ``context`` and what every page shows (see module docstring)."""
    session = getattr(request.state, "session", None)
    state = request.app.state
    env = _env(request)
    token = session.csrf_token if session is not None else ""
    flash = list(session.flash) if session is not None else []
    if session is not None:
        session.flash.clear()

    def link(path: str, **query: Any) -> str:
        return href(request, path, **query)

    def csrf_input() -> Markup:
        return Markup('<input type="hidden" name="csrf_token" value="{}">').format(escape(token))

    return templates.TemplateResponse(request, template, status_code=status_code, context={
        "user": session.user if session is not None else None,
        "role": session.role if session is not None else None,
        "env": env, "envs": state.envs, "csrf_token": token, "nav": NAV,
        "section": _section(request), "flash": flash, "href": link, "csrf_input": csrf_input,
        "command": lambda args: command(args, env),
        "report_href": lambda where: _report_href(request, where),
        "base": request.scope.get("root_path", ""), **context})
