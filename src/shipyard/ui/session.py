"""Who is signed in: an API key traded for a server-side session, its role and CSRF token.

The key is posted once to ``/ui/login`` (never put in a URL, where logs and browser history
keep it) and exchanged for a random session token in a cookie that scripts cannot read
(HttpOnly), that other sites' pages do not send with their forms (SameSite=Lax), and that
travels only over HTTPS when the UI is served over HTTPS (Secure). The session is kept in the
metadata database (:mod:`shipyard.ui.session_store`) with the key's role and a CSRF token, so
every server of the project honours it and a restart signs no one out; every POST must carry
that token in its form (:func:`csrf`), so a page elsewhere cannot make a signed-in browser act.

Routes take these dependencies: :func:`viewer` (anyone signed in), :func:`operator` (a key
with the operator role) and :func:`csrf` (a POST's form, its token checked); :func:`flash`
leaves a message for the browser's next page.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, Protocol
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from shipyard.errors import NotFoundError, NotPermitted, ShipyardError, SignInRequired
from shipyard.project import Project
from shipyard.ui.session_store import SessionStore, token_digest

__all__ = ["COOKIE", "SIGN_IN_COOKIE", "KeyRoles", "Session", "Sessions", "csrf", "flash",
           "operator", "project", "read_form", "selected_env", "sign_in_token", "viewer"]

COOKIE = "shipyard_session"
SIGN_IN_COOKIE = "shipyard_sign_in"
"""The sign-in form's token, sent back only to the sign-in page (see shipyard.ui.app)."""
Role = Literal["viewer", "operator"]
MAX_FORM_BYTES = 64 * 1024


class KeyRoles(Protocol):
    """What the UI needs of the server's keys (:class:`shipyard.serving.auth.ApiKeys`)."""

    def role_for(self, presented: str | None, client: str) -> Role | None: ...

    def role_of_digest(self, digest: str) -> Role | None: ...


@dataclass
class Session:
    """One signed-in browser: its role, a label for the key (never the key) and its token."""

    id: str
    role: Role
    user: str
    csrf_token: str
    flash: list[str] = field(default_factory=list)
    """Messages shown once on this page (what a POST did, after its redirect)."""


class Sessions:
    """Sessions of ``keys`` in the metadata database of ``engine``, each for ``ttl_s`` seconds
    after sign-in, and only while the server still accepts the key with the same role."""

    def __init__(self, keys: KeyRoles, engine: Engine, *, ttl_s: float = 12 * 3600) -> None:
        self._keys = keys
        self._ttl = timedelta(seconds=ttl_s)
        self._store = SessionStore(engine)

    def sign_in(self, presented: str, client: str) -> Session | None:
        """A new session for ``presented`` when it is a known key, else None; wrong keys
        count against the ``client`` address as the API's do (``TooManyWrongKeys``)."""
        role = self._keys.role_for(presented.strip(), client)
        if role is None:
            return None
        key = token_digest(presented.strip())
        session = Session(id=secrets.token_urlsafe(32), role=role, user=_label(role, key),
                          csrf_token=secrets.token_urlsafe(32))
        self._store.add(session.id, role=role, key_sha256=key, csrf_token=session.csrf_token,
                        ttl=self._ttl)
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of the cookie's token, with the messages waiting for its page."""
        if not session_id:
            return None
        stored = self._store.take(session_id)
        if stored is None:
            return None
        role = self._keys.role_of_digest(stored.key_sha256)
        if role is None or role != stored.role:
            self._store.remove(session_id)  # its key was withdrawn, or given another role
            return None
        return Session(id=session_id, role=role, user=_label(role, stored.key_sha256),
                       csrf_token=stored.csrf_token, flash=stored.flash)

    def say(self, session: Session, message: str) -> None:
        """Show ``message`` once on the session's next page, whichever server serves it."""
        self._store.say(session.id, message)

    def sign_out(self, session_id: str) -> None:
        if session_id:
            self._store.remove(session_id)


def _label(role: Role, key_sha256: str) -> str:
    """Who the session is, in pages and audit records: the role and the key's digest's start."""
    return f"{role} key {key_sha256[:8]}"


def viewer(request: Request) -> Session:
    """Anyone signed in (any role); otherwise the UI redirects to the sign-in page."""
    sessions: Sessions = request.app.state.sessions
    session = sessions.get(request.cookies.get(COOKIE))
    if session is None:
        raise SignInRequired("sign in with an API key")
    request.state.session = session
    selected_env(request)  # an unknown ?env= is a 404 page on every page alike
    _no_nul(request)
    return session


def _no_nul(request: Request) -> None:
    """A 404 for an address with a NUL character in a path segment or a query value: no name
    Shipyard keeps has one, and PostgreSQL refuses one in text with an error of its own."""
    values = [*request.path_params.values(), *(v for _, v in request.query_params.multi_items())]
    if any("\x00" in str(v) for v in values):
        raise NotFoundError("nothing here is named with a NUL character (%00 in the address)")


def flash(request: Request, message: str) -> None:
    """Show ``message`` on the signed-in browser's next page (what a POST did, after its
    redirect), even when another server of the project serves that page."""
    sessions: Sessions = request.app.state.sessions
    sessions.say(request.state.session, message)


def operator(session: Annotated[Session, Depends(viewer)]) -> Session:
    """A session of an operator key; a viewer gets a 403 page and nothing changes."""
    if session.role != "operator":
        raise NotPermitted(f"your key's role is {session.role}; an operator key may accept "
                        f"batches, promote and roll back (ask for one, or sign in with it)")
    return session


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded form (the only kind the UI's forms send), each field's
    first value; any other body counts as an empty form (so it carries no CSRF token). Parsed
    here rather than with python-multipart, which would be a dependency for this alone."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    body = b""
    async for chunk in request.stream():  # never more than the limit in memory
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise NotPermitted(f"a form of over {MAX_FORM_BYTES:,} bytes: no form of this UI is "
                            f"that long")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


async def csrf(request: Request, session: Annotated[Session, Depends(viewer)]) -> dict[str, str]:
    """The form of a POST, once its ``csrf_token`` field is the session's: a form another
    site makes a signed-in browser send lacks it and is refused (403), changing nothing."""
    form = await read_form(request)
    if not hmac.compare_digest(form.get("csrf_token", "").encode(), session.csrf_token.encode()):
        raise NotPermitted("this form's CSRF token is missing or not this session's: reload the "
                        "page and send it again")
    return form


def sign_in_token(page: str) -> str:
    """The token of the sign-in form in the sign-in page's HTML: what a program that signs in
    as a browser does (``deploy rehearse``, the benchmarks) posts with the key, keeping the
    cookie the page came with."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if found is None:
        raise ShipyardError("the sign-in page holds no form token: is this Shipyard's UI?")
    return found[1]


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
