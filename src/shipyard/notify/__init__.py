"""Alerts to webhooks (Microsoft Teams, Slack, generic JSON) that never fail their caller."""

from __future__ import annotations

from shipyard.notify.events import Event
from shipyard.notify.formats import format_event
from shipyard.notify.webhooks import Delivery, deliver, notify, safe_url

__all__ = ["Delivery", "Event", "deliver", "format_event", "notify", "safe_url"]
