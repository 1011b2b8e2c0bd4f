"""API keys: read from the environment or a file, kept only as SHA-256 digests.

A presented key is hashed and compared with every stored digest with ``hmac.compare_digest``,
so the time a check takes says nothing about how close a guess was, and the process never
holds a key in clear after start-up. :func:`require_key` is the routes' dependency that asks
for one; :func:`require_docs_key` is the one of ``/docs`` and ``/openapi.json``, which also
takes the key as the password of HTTP Basic authentication, so that a browser can open them.

Each key carries a role (:data:`ROLES`): an entry ``KEY:viewer`` may only read (the web UI's
pages, predictions, recommendations, run states), ``KEY:operator`` or a plain ``KEY`` may also
act (accept a batch, promote, roll back, start a pipeline run: ``require_key(keys,
"operator")``, else 403).

Wrong keys are counted per client address (:mod:`shipyard.serving.wrong_keys`): past a few,
that address's new keys get 429 with ``Retry-After`` instead of being checked, the web UI's
sign-in included (it checks keys with :meth:`ApiKeys.role_for` too).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from fastapi import Depends, Request
from fastapi.security import (
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from shipyard.errors import ConfigError, NotPermitted, TooManyWrongKeys, Unauthorized
from shipyard.serving.wrong_keys import WrongKeys

__all__ = ["ROLES", "ApiKeys", "DocsUnauthorized", "Role", "client_address", "require_docs_key",
           "require_key"]

ENV = "SHIPYARD_API_KEYS"
# Module-level: FastAPI resolves the dependency annotations below in this module's namespace.
_BEARER = HTTPBearer(auto_error=False)
_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False)
_BASIC = HTTPBasic(auto_error=False)
Role = Literal["viewer", "operator"]
ROLES: tuple[Role, ...] = ("viewer", "operator")
_ASK = "missing or wrong API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class ApiKeys:
    """The keys a server accepts, each with its role."""

    def __init__(self, keys: list[str], wrong_keys: WrongKeys | None = None) -> None:
        cleaned = [k.strip() for k in keys if k.strip()]
        if not cleaned:
            raise ConfigError(f"no API keys: set {ENV}=key1,key2 or pass --api-keys-file FILE "
                              f"(one key per line); every route but /health needs one")
        entries = [_entry(k) for k in cleaned]
        short = [k for k, _ in entries if len(k) < 16]
        if short:
            raise ConfigError(f"{len(short)} API key(s) shorter than 16 characters; use long "
                              f"random keys, e.g. python -c 'import secrets; "
                              f"print(secrets.token_urlsafe(32))'")
        self._digests = [(_digest(k), role) for k, role in entries]
        self.wrong_keys = wrong_keys or WrongKeys()

    @classmethod
    def load(cls, file: Path | None = None, wrong_keys: WrongKeys | None = None) -> ApiKeys:
        """Keys from ``file`` (one per line, # comments) or else from ``SHIPYARD_API_KEYS``;
        ``wrong_keys`` the allowance of wrong ones (:meth:`WrongKeys.of` the project's)."""
        if file is not None:
            if not file.exists():
                raise ConfigError(f"API keys file {file} does not exist")
            lines = [line.split("#", 1)[0] for line in file.read_text().splitlines()]
            return cls(lines, wrong_keys)
        return cls(os.environ.get(ENV, "").split(","), wrong_keys)

    def accepts_headers(self, headers: Mapping[str, str], client: str) -> bool:
        """Whether a request's headers carry an accepted key, read as :func:`require_key`'s
        dependencies read them (a well-formed ``Authorization: Bearer`` first, else
        ``X-API-Key``): the predict routes' fast path checks it without FastAPI's dependency
        machinery (``shipyard.serving.model_routes``). Nothing is counted here: a wrong key,
        or one ``client`` must wait with, is False, and the route's own check answers it (401
        or 429) and counts it."""
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        presented = token if scheme.lower() == "bearer" and token else headers.get("x-api-key")
        if not presented:
            return False
        digest = _digest(presented)
        if self.wrong_keys.wait_s(client, digest) is not None or self._role(digest) is None:
            return False
        self.wrong_keys.right(client, digest)
        return True

    def role_for(self, presented: str | None, client: str) -> Role | None:
        """The role of ``presented``, sent from the address ``client``, or None when no
        stored key is it; a wrong key counts against that address.

        Raises:
            TooManyWrongKeys: ``client`` sent too many wrong keys, and ``presented`` was
                never right from there: it is not checked (a guess learns nothing).
        """
        if not presented:
            return None  # nothing guessed: a 401 that asks for a key, not counted
        digest = _digest(presented)
        wait_s = self.wrong_keys.wait_s(client, digest)
        if wait_s is not None:
            raise TooManyWrongKeys(f"too many wrong API keys from {client}; retry in {wait_s} s "
                                   f"with a right one (Retry-After)", retry_after_s=wait_s)
        role = self._role(digest)
        if role is None:
            self.wrong_keys.wrong(client)
        else:
            self.wrong_keys.right(client, digest)
        return role

    def role_of_digest(self, digest: str) -> Role | None:
        """The role of the key whose SHA-256 is ``digest`` (hex), or None when no stored key
        is it: a web UI session keeps only its key's digest, and ends when the key does."""
        try:
            return self._role(bytes.fromhex(digest))
        except ValueError:
            return None

    def _role(self, wanted: bytes) -> Role | None:
        found: Role | None = None
        for known, role in self._digests:  # every digest is compared: no early exit to time
            if hmac.compare_digest(wanted, known):
                found = role
        return found


def _entry(text: str) -> tuple[str, Role]:
    """``KEY:viewer`` / ``KEY:operator`` -> (KEY, role); a plain ``KEY`` is an operator's, as
    every key was before keys had roles."""
    key, sep, suffix = text.rpartition(":")
    if not sep:
        return text, "operator"
    for role in ROLES:
        if suffix.strip() == role:
            return key.strip(), role
    # The text after ':' is not quoted: it may be part of a secret with a colon in it.
    raise ConfigError("an API key entry has a ':' followed by no role: end an entry with "
                      ":viewer (may only read) or :operator (may also accept, promote, roll "
                      "back), or give the plain key (operator); keys themselves hold no ':'")


def _presented(credentials: HTTPAuthorizationCredentials | None, api_key: str | None) -> str | None:
    return credentials.credentials if credentials is not None else api_key


def client_address(request: Request) -> str:
    """The address wrong keys are counted against: the client's (uvicorn puts a trusted
    proxy's ``X-Forwarded-For`` there, see its ``--forwarded-allow-ips``)."""
    return request.client.host if request.client is not None else "unknown"


def require_key(keys: ApiKeys, role: Role = "viewer") -> Callable[..., Awaitable[None]]:
    """The dependency of every secured route: a key in ``Authorization: Bearer KEY`` or
    ``X-API-Key: KEY`` that ``keys`` accepts, else 401 (both schemes show in OpenAPI); with
    ``role="operator"``, a viewer's key is a 403. Too many wrong keys from the client's
    address: 429.

    A coroutine, though it awaits nothing: FastAPI runs a plain function dependency in its
    thread pool, a hop that cost a third of a one-row predict request (hashing a key takes
    microseconds)."""
    async def check(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
                    api_key: Annotated[str | None, Depends(_HEADER)]) -> None:
        found = keys.role_for(_presented(credentials, api_key), client_address(request))
        if found is None:
            raise Unauthorized(_ASK)
        if role == "operator" and found != "operator":
            raise NotPermitted(f"your key's role is {found}; this needs an operator key "
                               f"(a plain KEY or KEY:operator in the server's keys)")
    return check


class DocsUnauthorized(Unauthorized):
    """A request for the API's documents without a key: asks a browser for one (the key as
    the password, any user name), which it then sends with the document's own request too."""

    http_headers: ClassVar[dict[str, str]] = {
        "WWW-Authenticate": 'Basic realm="Shipyard API: an API key as the password"'}


def require_docs_key(keys: ApiKeys) -> Callable[..., None]:
    """The dependency of ``/docs`` and ``/openapi.json``: a key as for every secured route,
    or as the password of HTTP Basic authentication (what a browser can send).

    The documents are behind the key on purpose: they name every served model, its input
    columns and the categories it learnt from its training data, which is what a private
    API keeps from whoever has no key. A browser prompts for the key (the 401 asks for Basic
    authentication) and opens them with it.
    """
    def check(request: Request, basic: Annotated[HTTPBasicCredentials | None, Depends(_BASIC)],
              credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
              api_key: Annotated[str | None, Depends(_HEADER)]) -> None:
        presented = basic.password if basic is not None else _presented(credentials, api_key)
        if keys.role_for(presented, client_address(request)) is None:
            raise DocsUnauthorized(f"{_ASK}, or the key as the password of Basic "
                                   f"authentication (a browser asks for it)")
    return check
