"""The web UI's sessions in the metadata database: every server of a project sees the same ones.

Behind a Service, a browser's requests reach whichever server is free, and a server that
restarts (a rollout, a crash) comes back: a session kept in one process's memory would sign
the browser out at each. The table holds, per session, the SHA-256 digest of its token (the
cookie's value is never stored, so reading the table signs no one in), the role and the
SHA-256 digest of the key that signed in (so a session ends with its key: a server that no
longer accepts the key does not honour it), the CSRF token its forms carry, the messages to
show once on its next page, and when it was made, ends and was last seen.

Each call is one short transaction; the last-seen time is written at most once a minute, so
pages do not each cost a write.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shipyard.db.migrate import migrate
from shipyard.db.tables import ui_sessions as _sessions

__all__ = ["SessionStore", "StoredSession", "token_digest"]

SEEN_EVERY = timedelta(minutes=1)
"""How stale the stored last-seen time may get before a page writes it again."""


def token_digest(token: str) -> str:
    """What is stored of a secret (a session token, an API key): its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def _utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class StoredSession:
    role: str
    key_sha256: str
    csrf_token: str
    expires_at: datetime
    flash: list[str]
    """Messages to show once, taken from the row by the read that returned them."""


class SessionStore:
    """The rows of ``shipyard_ui_sessions``, keyed by the token's digest."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate(engine, "metadata")

    def add(self, token: str, *, role: str, key_sha256: str, csrf_token: str,
            ttl: timedelta) -> None:
        """Store a new session; sessions past their end are deleted on the way."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(_sessions.delete().where(_sessions.c.expires_at < now))
            conn.execute(_sessions.insert().values(
                token_sha256=token_digest(token), role=role, key_sha256=key_sha256,
                csrf_token=csrf_token, flash=None, created_at=now, expires_at=now + ttl,
                last_seen_at=now))

    def take(self, token: str) -> StoredSession | None:
        """The session of ``token`` (None when there is none or it has ended, which deletes
        it), with its waiting messages, which no later read returns again."""
        digest = token_digest(token)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(_sessions)
                               .where(_sessions.c.token_sha256 == digest)).first()
            if row is None:
                return None
            if _utc(row.expires_at) <= now:
                conn.execute(_sessions.delete().where(_sessions.c.token_sha256 == digest))
                return None
            flash: list[str] = json.loads(row.flash) if row.flash else []
            if flash or now - _utc(row.last_seen_at) >= SEEN_EVERY:
                # Only the read that still finds these messages clears them, so two pages
                # opened at once do not both show them.
                taken = conn.execute(_sessions.update().where(
                    _sessions.c.token_sha256 == digest,
                    _sessions.c.flash.is_(None) if row.flash is None
                    else _sessions.c.flash == row.flash,
                ).values(flash=None, last_seen_at=now))
                if taken.rowcount == 0:
                    flash = []
        return StoredSession(row.role, row.key_sha256, row.csrf_token, _utc(row.expires_at),
                             flash)

    def say(self, token: str, message: str) -> None:
        """Keep ``message`` for the session's next page, after those already waiting."""
        digest = token_digest(token)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(_sessions.c.flash)
                               .where(_sessions.c.token_sha256 == digest)
                               .with_for_update()).first()
            if row is None:
                return
            waiting: list[str] = json.loads(row.flash) if row.flash else []
            conn.execute(_sessions.update().where(_sessions.c.token_sha256 == digest)
                         .values(flash=json.dumps([*waiting, message])))

    def remove(self, token: str) -> None:
        """End the session of ``token`` (nothing when there is none)."""
        with self.engine.begin() as conn:
            conn.execute(_sessions.delete()
                         .where(_sessions.c.token_sha256 == token_digest(token)))
