"""Deliver events to webhooks, with a timeout per attempt and bounded retries.

An alert is a side effect: a webhook that is down, slow or misconfigured must never fail the
ingest or promotion that raised the alert. So ``notify`` never raises for a delivery failure;
it logs a warning (logger ``shipyard.notify``) and reports a ``Delivery`` with ``ok=False``.

Webhook URLs embed their secret (Teams signatures, Slack tokens), so logs and errors name a
webhook by its configured name and the URL's scheme and host only, never its path or query.

Time is bounded: each attempt has the webhook's ``timeout_s`` per connect/write/read phase,
there are at most ``retries + 1`` attempts per webhook, and waits between attempts grow
exponentially from ``BASE_DELAY_S`` up to ``MAX_DELAY_S``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from shipyard._version import __version__
from shipyard.config.schema import WebhookConfig
from shipyard.notify.events import Event
from shipyard.notify.formats import format_event
from shipyard.redact import redact_text

__all__ = ["BASE_DELAY_S", "MAX_DELAY_S", "Delivery", "deliver", "notify", "safe_url"]

logger = logging.getLogger("shipyard.notify")

BASE_DELAY_S = 0.2
"""Wait before the first retry; doubled before each next one. Read at call time."""
MAX_DELAY_S = 5.0
"""Cap of one wait between attempts, also applied to a receiver's ``Retry-After``."""

_ERROR_BODY_MAX = 300  # characters of a refusing receiver's answer kept in the error message
_HEADERS = {"Content-Type": "application/json", "User-Agent": f"shipyard/{__version__}"}


@dataclass(frozen=True)
class Delivery:
    """The outcome of sending one event to one webhook.

    Attributes:
        webhook: The webhook's configured name.
        ok: Whether a 2xx answer came back.
        attempts: Requests tried (0 when the body could not even be built).
        status: HTTP status of the last answer, None when none came (timeout, refused...).
        error: Why it failed, safe to show (no URL path or query); None when ok.
    """

    webhook: str
    ok: bool
    attempts: int
    status: int | None
    error: str | None


class _Retryable(Exception):
    """An attempt failed in a way that may pass on retry (network, timeout, 429, 5xx)."""

    def __init__(self, message: str, status: int | None = None, wait_s: float = 0.0) -> None:
        super().__init__(message)
        self.status = status
        self.wait_s = wait_s


class _Final(Exception):
    """An attempt failed in a way a retry cannot fix (other 4xx, bad URL)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def safe_url(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: enough to tell webhooks apart, without secrets."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<invalid URL>"
    if not parts.scheme or not host:
        return "<invalid URL>"
    return f"{parts.scheme}://{host}{port}"


def _redact(text: str, url: str) -> str:
    """``text`` with the URL, or its path and query, replaced: error messages may quote them."""
    secret_parts = [url]
    try:
        parts = urlsplit(url)
        secret_parts += [parts.path, parts.query, parts.netloc]
    except ValueError:
        pass
    for part in sorted((p for p in secret_parts if len(p) > 1), key=len, reverse=True):
        text = text.replace(part, "…")
    return text


def _backoff(retry: int, base_s: float) -> float:
    """Wait before retry number ``retry`` (1-based): base, then twice that, four times... capped."""
    return min(base_s * 2 ** (retry - 1), MAX_DELAY_S)


def _retry_after(response: httpx.Response) -> float:
    """Seconds the receiver asked us to wait (0 when it did not say, or said it as a date)."""
    try:
        return max(float(response.headers.get("Retry-After", "0")), 0.0)
    except ValueError:
        return 0.0


def _read_prefix(response: httpx.Response, deadline: float) -> str:
    """At most a few hundred characters of the answer, read no later than ``deadline``.

    Only the start is needed (for error messages), and a receiver trickling a long body must
    not stretch the attempt beyond its timeout.
    """
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= _ERROR_BODY_MAX or time.monotonic() > deadline:
            break
    return data[:_ERROR_BODY_MAX].decode("utf-8", "replace").strip()


def _attempt(client: httpx.Client, webhook: WebhookConfig, content: bytes) -> int:
    """Send once; return the 2xx status or raise ``_Retryable`` / ``_Final``."""
    deadline = time.monotonic() + webhook.timeout_s
    try:
        with client.stream("POST", webhook.url, content=content, headers=_HEADERS,
                           timeout=httpx.Timeout(webhook.timeout_s)) as response:
            text = _read_prefix(response, deadline)
    except httpx.TimeoutException as error:
        kind = type(error).__name__
        raise _Retryable(f"timed out after {webhook.timeout_s:g}s ({kind})") from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
        raise _Final(f"invalid webhook URL: {error}") from None
    except (httpx.NetworkError, httpx.RemoteProtocolError) as error:
        raise _Retryable(f"{type(error).__name__}: {error}") from None
    except httpx.HTTPError as error:
        raise _Final(f"{type(error).__name__}: {error}") from None
    status = response.status_code
    if 200 <= status < 300:
        return status
    message = f"HTTP {status} {response.reason_phrase}" + (f": {text}" if text else "")
    if status == 429 or status >= 500:
        raise _Retryable(message, status, _retry_after(response))
    raise _Final(message, status)


def deliver(
    webhook: WebhookConfig,
    event: Event,
    *,
    client: httpx.Client,
    base_delay_s: float | None = None,
) -> Delivery:
    """Send ``event`` to one webhook, retrying what may pass; never raises for a failure.

    Args:
        webhook: Where and how to send; its ``timeout_s`` bounds each attempt and its
            ``retries`` the attempts after the first.
        event: What to send, formatted for ``webhook.kind``.
        client: HTTP client to send with (the caller owns and closes it).
        base_delay_s: Wait before the first retry; default ``BASE_DELAY_S``.

    Returns:
        The outcome, with ``ok=False`` and a safe ``error`` when every attempt failed.
    """
    base = BASE_DELAY_S if base_delay_s is None else base_delay_s
    where = safe_url(webhook.url)
    try:
        # default=str: a stray datetime or Path in details must not cost the whole alert.
        # Redacted: an event's summary and details can quote an error holding a password.
        content = redact_text(json.dumps(format_event(webhook.kind, event), default=str,
                                         ensure_ascii=False)).encode()
    except Exception as error:  # noqa: BLE001 - an alert must never break its caller
        return _failed(webhook, where, 0, None,
                       _redact(f"cannot build the message: {error!r}", webhook.url))
    attempts = 0
    status: int | None = None
    error_text = ""
    while attempts <= webhook.retries:
        attempts += 1
        try:
            status = _attempt(client, webhook, content)
        except _Retryable as error:
            status, error_text = error.status, _redact(str(error), webhook.url)
            if attempts > webhook.retries:
                break
            wait = min(max(_backoff(attempts, base), error.wait_s), MAX_DELAY_S)
            logger.debug("webhook %r (%s): attempt %d failed (%s); retrying in %.2fs",
                         webhook.name, where, attempts, error_text, wait)
            time.sleep(wait)
        except _Final as error:
            return _failed(webhook, where, attempts, error.status,
                           _redact(str(error), webhook.url))
        except Exception as error:  # noqa: BLE001 - an alert must never break its caller
            return _failed(webhook, where, attempts, None,
                           _redact(f"{type(error).__name__}: {error}", webhook.url))
        else:
            logger.debug("webhook %r (%s): %s delivered (HTTP %d, attempt %d)",
                         webhook.name, where, event.kind, status, attempts)
            return Delivery(webhook.name, True, attempts, status, None)
    return _failed(webhook, where, attempts, status, error_text)


def _failed(
    webhook: WebhookConfig, where: str, attempts: int, status: int | None, error: str
) -> Delivery:
    logger.warning("webhook %r (%s) failed after %d attempt(s): %s",
                   webhook.name, where, attempts, error)
    return Delivery(webhook.name, False, attempts, status, error)


def notify(
    webhooks: Sequence[WebhookConfig],
    event: Event,
    *,
    client: httpx.Client | None = None,
    base_delay_s: float | None = None,
) -> list[Delivery]:
    """Send ``event`` to every webhook that wants its kind; never raises for a failed delivery.

    Webhooks are served one after another, each on its own: one failing does not stop the
    others. Sequential sending keeps the time bounded and predictable (the sum of each
    webhook's timeouts and waits) without threads in the caller's process.

    Args:
        webhooks: Configured webhooks, usually ``config.alerts.webhooks``.
        event: What happened.
        client: HTTP client to reuse; by default one is opened and closed for this call.
        base_delay_s: Wait before the first retry; default ``BASE_DELAY_S``.

    Returns:
        One ``Delivery`` per webhook that wanted the event, in configuration order.
    """
    wanted = [webhook for webhook in webhooks if webhook.wants(event.kind)]
    if not wanted:
        return []
    own_client = client is None
    http = httpx.Client() if client is None else client
    try:
        return [deliver(webhook, event, client=http, base_delay_s=base_delay_s)
                for webhook in wanted]
    finally:
        if own_client:
            http.close()
