"""Turn an ``Event`` into the JSON body each kind of webhook expects.

Each receiver renders a different dialect: Microsoft Teams (Workflows webhooks) takes a message
carrying an Adaptive Card, Slack incoming webhooks take Block Kit, and the generic ``json`` kind
is for machines, so it gets every field including ``details``. The people-facing kinds show
project and environment first among the facts, because alerts from several projects and
environments often share one channel.

The functions are pure (no I/O) so that the bodies can be tested and previewed without sending.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipyard.notify.events import Event

__all__ = ["FORMATS", "format_event", "json_message", "slack_message", "teams_message"]

# Slack rejects a whole message when one block is over its limit, so we cut text before sending.
_SLACK_HEADER_MAX = 150
_SLACK_TEXT_MAX = 3000
_SLACK_FIELD_MAX = 2000
_SLACK_FIELDS_PER_SECTION = 10
_EMPTY = "—"


def _shown_facts(event: Event) -> dict[str, str]:
    """Facts as people see them: project and environment first, empty values made visible."""
    shown = {"project": event.project, "environment": event.environment}
    shown.update({str(key): str(value) for key, value in event.facts.items()})
    return {key: value if value.strip() else _EMPTY for key, value in shown.items()}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def teams_message(event: Event) -> dict[str, Any]:
    """A Teams message with an Adaptive Card 1.4: title, summary, then the facts as a FactSet.

    The ``message``/``attachments`` envelope is what Teams Workflows webhooks (the successor of
    the retired Office 365 connectors) accept. Summary lines become separate TextBlocks because
    Teams does not reliably render a single newline inside one TextBlock.
    """
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": event.title, "size": "Medium", "weight": "Bolder",
         "wrap": True},
    ]
    for number, line in enumerate(event.summary.splitlines()):
        if line.strip():
            body.append({"type": "TextBlock", "text": line, "wrap": True,
                         "spacing": "Small" if number == 0 else "None"})
    body.append({
        "type": "FactSet",
        "facts": [{"title": key, "value": value} for key, value in _shown_facts(event).items()],
    })
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
             "content": card},
        ],
    }


def _mrkdwn(text: str) -> str:
    # Slack reads <...> as links and mentions; user text must not turn into either.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(event: Event) -> dict[str, Any]:
    """A Slack Block Kit message: header, summary section, then facts as section fields.

    ``text`` repeats the title because Slack shows it in notifications and where blocks cannot
    be rendered. Facts are split over several sections since one holds at most ten fields.
    """
    blocks: list[dict[str, Any]] = [
        {"type": "header",
         "text": {"type": "plain_text", "text": _cut(event.title, _SLACK_HEADER_MAX),
                  "emoji": True}},
    ]
    if event.summary.strip():
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn",
                                "text": _cut(_mrkdwn(event.summary), _SLACK_TEXT_MAX)}})
    fields = [
        {"type": "mrkdwn", "text": _cut(f"*{_mrkdwn(key)}*\n{_mrkdwn(value)}", _SLACK_FIELD_MAX)}
        for key, value in _shown_facts(event).items()
    ]
    for start in range(0, len(fields), _SLACK_FIELDS_PER_SECTION):
        blocks.append({"type": "section",
                       "fields": fields[start : start + _SLACK_FIELDS_PER_SECTION]})
    return {"text": _cut(event.title, _SLACK_TEXT_MAX), "blocks": blocks}


def json_message(event: Event) -> dict[str, Any]:
    """Every field of the event, for programs; ``time`` is ISO 8601 in UTC."""
    return {
        "event": event.kind,
        "title": event.title,
        "summary": event.summary,
        "facts": dict(event.facts),
        "details": event.details,
        "project": event.project,
        "environment": event.environment,
        "time": event.time.isoformat(),
    }


FORMATS: dict[str, Callable[[Event], dict[str, Any]]] = {
    "teams": teams_message,
    "slack": slack_message,
    "json": json_message,
}
"""Formatter of each ``WebhookConfig.kind``."""


def format_event(kind: str, event: Event) -> dict[str, Any]:
    """The JSON body of ``event`` for a webhook of ``kind`` (``teams``, ``slack`` or ``json``)."""
    try:
        formatter = FORMATS[kind]
    except KeyError:
        raise ValueError(
            f"unknown webhook kind {kind!r}; expected one of {', '.join(sorted(FORMATS))}"
        ) from None
    return formatter(event)
