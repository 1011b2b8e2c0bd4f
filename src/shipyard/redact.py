"""Keep secrets out of everything Shipyard writes: records, logs, reports, messages, webhooks.

Store URLs carry their credentials (``postgresql+psycopg://user:password@host/db``, an object
store URL with a ``?sig=`` token), and so do the error messages of the libraries that use them.
Two defences, both here so every layer uses the same ones:

* :func:`redact_url` masks the password and secret-looking query values of one URL; every place
  that shows or stores a URL shows this form.
* :func:`redact_text` masks the secrets this process knows (registered by :func:`remember`
  when a project's configuration is read, in their raw and percent-decoded forms) and anything
  shaped like a credential (``scheme://user:pw@``, ``password=…``, the path of a Slack, Teams
  or Discord webhook URL) in free text such as an exception message or a traceback. A
  configured webhook's path and query are secrets whatever its host (:func:`remember_webhook`):
  ``-v`` logs every URL an HTTP client requests.

:func:`install` routes every log record and warning through :func:`redact_text`, so a library
that logs its connection string (MLflow retrying an unreachable store does) cannot leak it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

__all__ = ["MASK", "install", "is_secret_name", "redact_text", "redact_url", "redact_value",
           "remember", "remember_url", "remember_webhook", "reveal"]

MASK = "***"

_SECRET_KEY = re.compile(
    r"pass(word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|account[_-]?key|sig(nature)?"
    r"|credential|auth|session|sas", re.IGNORECASE)
"""Names of query parameters, options and DSN keys whose values are secrets."""

_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"]*):[^@\s/'\"]+@")
"""``scheme://user:password@`` inside text; the password must not contain ``/`` or spaces."""

_KEY_VALUE = re.compile(
    r"(?P<key>\b[\w.\-]*(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key"
    r"|account[_-]?key|sig)\b['\"]?\s*[=:]\s*['\"]?)(?P<value>[^\s&'\",;)}\]]+)",
    re.IGNORECASE)
"""``password=…``, ``token: …``, ``"secret": "…"`` (libpq DSNs, query strings, dict reprs)."""

_WEBHOOK = re.compile(
    r"(?P<head>\bhttps?://(?:hooks\.slack\.com/(?:services|workflows|triggers)"
    r"|[\w.-]*webhook\.office\.com/webhookb2|[\w.-]*logic\.azure\.com(?::\d+)?/workflows"
    r"|(?:discord|discordapp)\.com/api/webhooks))/[^\s'\"?#]+", re.IGNORECASE)
"""The well-known webhook URLs, whose secret is their path (a query ``sig`` is a
``_KEY_VALUE``)."""

_MIN_SECRET = 4
_MIN_WEBHOOK_PART = 12  # shorter values would mask ordinary words; such secrets are not secrets
_secrets: set[str] = set()
_urls: dict[str, str] = {}


def is_secret_name(name: str) -> bool:
    """Whether a query parameter or option of this name holds a secret (``sig``, ``*_KEY``)."""
    return _SECRET_KEY.search(name) is not None


def redact_url(url: str) -> str:
    """``url`` with the userinfo password and secret-looking query values replaced by ``***``.

    Works for SQLAlchemy URLs, object store URLs and HTTP URLs alike; a string that is not a
    URL (a libpq ``key=value`` DSN, a path) goes through :func:`redact_text` instead.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if not parts.scheme or "://" not in url:
        return redact_text(url)
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_KEY.search(key) for key, _ in pairs):
            query = urlencode([(k, MASK if _SECRET_KEY.search(k) else v) for k, v in pairs],
                              safe="*")
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # nothing secret; reassembling could change it (sqlite:////abs/path)
    return (f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
            + (f"#{parts.fragment}" if parts.fragment else ""))


def _url_secrets(url: str) -> list[str]:
    """The password and secret query values of ``url``, as written and percent-decoded."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    for pair in parts.query.split("&"):  # as written; remember() adds the decoded form
        key, _, value = pair.partition("=")
        if _SECRET_KEY.search(unquote(key)):
            found.append(value)
    return found


def remember(secrets: Iterable[str]) -> None:
    """Mask these values wherever they appear in text from now on (this process)."""
    for secret in secrets:
        for form in {secret, unquote(secret)}:
            if len(form) >= _MIN_SECRET:
                _secrets.add(form)


def remember_webhook(url: str) -> None:
    """Mask the path and query of a configured webhook URL from now on: whatever its host,
    they are what lets anyone post to it (Slack's and Teams' tokens are in the path). A short
    path (``/hook``) holds no token, and masking it would mask that word everywhere."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    remember(part for part in (parts.path, parts.query) if len(part) >= _MIN_WEBHOOK_PART)
    remember_url(url)


def remember_url(url: str) -> None:
    """Mask the credentials of a configured URL from now on, and let :func:`reveal` map its
    redacted form back to it (run records keep only the redacted form)."""
    remember(_url_secrets(url))
    for shown in (redact_url(url), redact_text(url)):  # as shown, and as stored in free text
        if shown != url:
            _urls[shown] = url


def reveal(url: str) -> str:
    """The configured URL whose redacted form is ``url``; ``url`` itself when unknown.

    A run record stores the tracking URI redacted; the process that reads the project's
    configuration can still connect with the real one.
    """
    return _urls.get(url, url)


def redact_text(text: str) -> str:
    """``text`` with every known secret and anything shaped like a credential masked."""
    if not text:
        return text
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    text = _WEBHOOK.sub(lambda m: f"{m['head']}/{MASK}", text)
    return _KEY_VALUE.sub(lambda m: m["key"] + MASK if m["value"] != MASK else m[0], text)


def redact_value(value: Any) -> Any:
    """``value`` with every string in it (in dicts and lists too) redacted by
    :func:`redact_text`; for rows and documents about to be stored."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(item) for item in value)
    return value


class _RedactingRecord(logging.LogRecord):
    """A log record whose message and exception text are redacted once, when it is made."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        try:
            message = self.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is logging's to report
            return
        redacted = redact_text(message)
        if redacted != message:  # else keep args: some formatters read them (uvicorn's access log)
            self.msg, self.args = redacted, None
        if self.exc_info and self.exc_info[1] is not None:
            self.exc_text = redact_text(
                logging.Formatter().formatException(self.exc_info))


def install() -> None:
    """Redact every log record and every warning of this process, whoever emits it.

    The record factory applies to loggers and handlers configured later too (MLflow, uvicorn),
    and warnings are routed through logging so that they are redacted the same way.
    """
    logging.setLogRecordFactory(_RedactingRecord)
    logging.captureWarnings(True)
