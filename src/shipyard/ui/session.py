"""Who is signed in: an API key traded for a server-side session, its role and CSRF token.

The key is posted once to ``/ui/login`` (never put in a URL, where logs and browser history
keep it) and exchanged for a random session id in a cookie that scripts cannot read
(HttpOnly), that other sites' pages do not send with their forms (SameSite=Lax), and that
travels only over HTTPS when the UI is served over HTTPS (Secure). The session lives in the
server's memory with the key's role and a CSRF token; every POST must carry that token in its
form (:func:`csrf`), so a page elsewhere cannot make a signed-in browser act. Restarting the
server signs everyone out, which is the price of keeping no session store.

Routes take these dependencies: :func:`viewer` (anyone signed in), :func:`operator` (a key
with the operator role) and :func:`csrf` (a POST's form, its token checked).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, Protocol
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request

from shipyard.errors import NotFoundError, ShipyardError
from shipyard.project import Project

__all__ = ["COOKIE", "BadForm", "Forbidden", "KeyRoles", "Session", "Sessions", "SignInRequired", "csrf",
           "operator", "project", "read_form", "selected_env", "viewer"]

COOKIE = "shipyard_session"
Role = Literal["viewer", "operator"]
MAX_FORM_BYTES = 64 * 1024


class KeyRoles(Protocol):
    """What the UI needs of the server's keys (:class:`shipyard.serving.auth.ApiKeys`)."""

    def role_of(self, presented: str | None) -> Role | None: ...


class SignInRequired(ShipyardError):
    """No session: the UI answers with a redirect to the sign-in page."""

    http_status = 401


class Forbidden(ShipyardError):
    """Signed in, but the session may not do this (its role, or a POST without its token)."""

    http_status = 403


class BadForm(ShipyardError):
    """A form sent without what it needs (a reason): the page says what to fill in."""

    http_status = 400


@dataclass
class Session:
    """One signed-in browser: its role, a label for the key (never the key) and its token."""

    id: str
    role: Role
    user: str
    csrf_token: str
    expires: float
    flash: list[str] = field(default_factory=list)
    """Messages shown once on the next page (what a POST did, after its redirect)."""


class Sessions:
    """Sessions in memory, each for ``ttl_s`` seconds after sign-in."""

    def __init__(self, keys: KeyRoles, *, ttl_s: float = 12 * 3600) -> None:
        self._keys = keys
        self._ttl_s = ttl_s
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def sign_in(self, presented: str) -> Session | None:
        """A new session for ``presented`` when it is a known key, else None."""
        role = self._keys.role_of(presented.strip())
        if role is None:
            return None
        label = hashlib.sha256(presented.strip().encode()).hexdigest()[:8]
        session = Session(id=secrets.token_urlsafe(32), role=role, user=f"{role} key {label}",
                          csrf_token=secrets.token_urlsafe(32),
                          expires=time.monotonic() + self._ttl_s)
        with self._lock:
            now = time.monotonic()
            for stale in [k for k, s in self._sessions.items() if s.expires < now]:
                del self._sessions[stale]
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires < time.monotonic():
                del self._sessions[session_id]
                return None
            return session

    def sign_out(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)


def viewer(request: Request) -> Session:
    """Anyone signed in (any role); otherwise the UI redirects to the sign-in page."""
    sessions: Sessions = request.app.state.sessions
    session = sessions.get(request.cookies.get(COOKIE))
    if session is None:
        raise SignInRequired("sign in with an API key")
    request.state.session = session
    selected_env(request)  # an unknown ?env= is a 404 page on every page alike
    return session


def operator(session: Annotated[Session, Depends(viewer)]) -> Session:
    """A session of an operator key; a viewer gets a 403 page and nothing changes."""
    if session.role != "operator":
        raise Forbidden(f"your key's role is {session.role}; an operator key may accept "
                        f"batches, promote and roll back (ask for one, or sign in with it)")
    return session


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded form (the only kind the UI's forms send), each field's
    first value; any other body counts as an empty form (so it carries no CSRF token). Parsed
    here rather than with python-multipart, which would be a dependency for this alone."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Forbidden(f"form of {len(body):,} bytes; at most {MAX_FORM_BYTES:,}")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


async def csrf(request: Request, session: Annotated[Session, Depends(viewer)]) -> dict[str, str]:
    """The form of a POST, once its ``csrf_token`` field is the session's: a form another
    site makes a signed-in browser send lacks it and is refused (403), changing nothing."""
    form = await read_form(request)
    if not hmac.compare_digest(form.get("csrf_token", "").encode(), session.csrf_token.encode()):
        raise Forbidden("this form's CSRF token is missing or not this session's: reload the "
                        "page and send it again")
    return form


def selected_env(request: Request) -> str:
    """The environment the page shows: ``?env=NAME``, else the server's default."""
    env: str = request.query_params.get("env") or request.app.state.default_env
    if env not in request.app.state.envs:
        raise NotFoundError(f"unknown environment {env!r}; {request.app.state.project_name} "
                            f"declares: {', '.join(request.app.state.envs)}")
    return env


def project(request: Request) -> Project:
    """The project opened for the selected environment (opened once per environment)."""
    env = selected_env(request)
    projects: dict[str, Project] = request.app.state.projects
    if env not in projects:
        root: Path = request.app.state.project_dir
        projects[env] = Project.open(root, env)
    return projects[env]


def login_redirect(request: Request) -> str:
    """Where to send a browser without a session: the sign-in page, then back here."""
    base = request.scope.get("root_path", "")
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{base}/login?next={quote(here, safe='')}"
