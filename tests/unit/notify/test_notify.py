"""Alerts sent over real HTTP to a local receiver: body shapes, filtering, retries, failures."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

import shipyard.notify
from shipyard.config.schema import WebhookConfig
from shipyard.notify import Delivery, Event, format_event, notify, safe_url
from shipyard.redact import remember_url
from tests.receiver import Receiver, Reply, unused_url

FAST = 0.01  # backoff base in tests: retries must not slow the suite down
SECRET_PATH = "/webhookb2/SECRET-TOKEN-123"
SECRET_QUERY = "sig=SECRETSIG456"


def event(kind: str = "batch_rejected", **changes: object) -> Event:
    values: dict[str, object] = {
        "kind": kind,
        "title": "order_lines: batch 7 rejected by validation",
        "summary": (
            "2 checks failed:\n- qty: distribution changed (KS 0.31, p<0.001)\n- id: 3 nulls"
        ),
        "facts": {"table": "order_lines", "batch": "7", "report": ".shipyard/dev/reports/7.json"},
        "details": {"batch": 7, "report": {"checks": [{"column": "qty", "passed": False}]}},
        "project": "shop",
        "environment": "dev",
        "time": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    values.update(changes)
    return Event(**values)  # type: ignore[arg-type]


def hook(url: str, kind: str = "json", **changes: object) -> WebhookConfig:
    values: dict[str, object] = {"name": f"{kind}-hook", "kind": kind, "url": url,
                                 "timeout_s": 1.0, "retries": 2}
    values.update(changes)
    return WebhookConfig(**values)  # type: ignore[arg-type]


def test_public_api_is_explicit() -> None:
    assert sorted(shipyard.notify.__all__) == shipyard.notify.__all__
    assert set(shipyard.notify.__all__) == {
        "Delivery", "Event", "deliver", "format_event", "notify", "safe_url"
    }


# -- events ---------------------------------------------------------------------------------------
def test_event_time_defaults_to_now_in_utc_and_refuses_naive_times() -> None:
    before = datetime.now(UTC)
    assert before <= event(time=datetime.now(UTC)).time
    default = Event("k", "t", "s", {}, {}, "p", "e")
    assert default.time.tzinfo is UTC and default.time >= before
    paris = datetime(2025, 1, 1, 12, tzinfo=timezone(timedelta(hours=1)))
    assert event(time=paris).time == datetime(2025, 1, 1, 11, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        event(time=datetime(2025, 1, 1))  # noqa: DTZ001 - the naive time under test


# -- body shapes, sent for real -------------------------------------------------------------------
def test_teams_gets_an_adaptive_card_message() -> None:
    with Receiver() as receiver:
        [delivery] = notify([hook(receiver.url + "/teams", "teams")], event(), base_delay_s=FAST)
        [request] = receiver.requests
    assert delivery == Delivery("teams-hook", True, 1, 200, None)
    assert request.method == "POST" and request.path == "/teams"
    assert request.headers["content-type"] == "application/json"
    body = request.json
    assert body["type"] == "message"
    attachment = body["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    texts = [block["text"] for block in card["body"] if block["type"] == "TextBlock"]
    assert texts[0] == "order_lines: batch 7 rejected by validation"
    assert "- qty: distribution changed (KS 0.31, p<0.001)" in texts
    [factset] = [block for block in card["body"] if block["type"] == "FactSet"]
    facts = {fact["title"]: fact["value"] for fact in factset["facts"]}
    assert facts == {"project": "shop", "environment": "dev", "table": "order_lines",
                     "batch": "7", "report": ".shipyard/dev/reports/7.json"}
    assert "details" not in str(body)  # the machine payload is only for the json kind


def test_slack_gets_text_and_blocks() -> None:
    with Receiver() as receiver:
        [delivery] = notify([hook(receiver.url + "/slack", "slack")], event(), base_delay_s=FAST)
        [request] = receiver.requests
    assert delivery.ok
    body = request.json
    assert body["text"] == "order_lines: batch 7 rejected by validation"
    header, summary, facts = body["blocks"]
    assert header == {"type": "header", "text": {
        "type": "plain_text", "text": "order_lines: batch 7 rejected by validation", "emoji": True}}
    assert summary["type"] == "section" and summary["text"]["type"] == "mrkdwn"
    assert "p&lt;0.001" in summary["text"]["text"]  # < would start a Slack link
    assert facts["type"] == "section"
    assert {"type": "mrkdwn", "text": "*table*\norder_lines"} in facts["fields"]
    assert {"type": "mrkdwn", "text": "*environment*\ndev"} in facts["fields"]


def test_json_gets_every_field_with_details_intact() -> None:
    with Receiver() as receiver:
        [delivery] = notify([hook(receiver.url + "/json")], event(), base_delay_s=FAST)
        [request] = receiver.requests
    assert delivery.ok
    assert request.json == {
        "event": "batch_rejected",
        "title": "order_lines: batch 7 rejected by validation",
        "summary": event().summary,
        "facts": event().facts,
        "details": {"batch": 7, "report": {"checks": [{"column": "qty", "passed": False}]}},
        "project": "shop",
        "environment": "dev",
        "time": "2025-01-02T03:04:05+00:00",
    }


def test_details_that_are_not_json_are_sent_as_text_rather_than_lost() -> None:
    odd = event(details={"path": Path("/tmp/report.json"), "at": datetime(2025, 1, 1, tzinfo=UTC)})
    with Receiver() as receiver:
        [delivery] = notify([hook(receiver.url)], odd, base_delay_s=FAST)
        [request] = receiver.requests
    assert delivery.ok
    assert request.json["details"] == {
        "path": "/tmp/report.json", "at": "2025-01-01 00:00:00+00:00"
    }


def test_slack_limits_are_respected() -> None:
    many = event(title="x" * 400, facts={f"fact{i}": f"v{i}" for i in range(15)} | {"empty": ""})
    body = format_event("slack", many)
    assert len(body["blocks"][0]["text"]["text"]) == 150
    sections = [block for block in body["blocks"] if "fields" in block]
    assert [len(section["fields"]) for section in sections] == [10, 8]
    assert {"type": "mrkdwn", "text": "*empty*\n—"} in sections[1]["fields"]
    no_summary = format_event("slack", event(summary=""))
    assert [block["type"] for block in no_summary["blocks"]] == ["header", "section"]


def test_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown webhook kind 'email'; expected one of json"):
        format_event("email", event())


# -- filtering ------------------------------------------------------------------------------------
def test_only_webhooks_that_want_the_event_get_it() -> None:
    with Receiver() as receiver:
        webhooks = [
            hook(receiver.url + "/all", name="all"),
            hook(receiver.url + "/rejects", name="rejects", events=["batch_rejected"]),
            hook(receiver.url + "/models", name="models", events=["model_promoted"]),
        ]
        rejected = notify(webhooks, event("batch_rejected"), base_delay_s=FAST)
        accepted = notify(webhooks, event("batch_accepted"), base_delay_s=FAST)
        paths = [request.path for request in receiver.requests]
    assert [d.webhook for d in rejected] == ["all", "rejects"]
    assert [d.webhook for d in accepted] == ["all"]
    assert paths == ["/all", "/rejects", "/all"]
    assert notify([], event()) == []


# -- retries --------------------------------------------------------------------------------------
def test_retries_on_503_then_succeeds() -> None:
    with Receiver([503, 503, 200]) as receiver:
        [delivery] = notify([hook(receiver.url, retries=3)], event(), base_delay_s=FAST)
        assert len(receiver.requests) == 3
    assert delivery == Delivery("json-hook", True, 3, 200, None)


def test_retries_on_429() -> None:
    with Receiver([429]) as receiver:
        [delivery] = notify([hook(receiver.url)], event(), base_delay_s=FAST)
    assert delivery.ok and delivery.attempts == 2


def test_gives_up_after_the_configured_retries() -> None:
    with Receiver(default=500) as receiver:
        [delivery] = notify([hook(receiver.url, retries=2)], event(), base_delay_s=FAST)
        assert len(receiver.requests) == 3
    assert not delivery.ok and delivery.attempts == 3 and delivery.status == 500
    assert delivery.error is not None and delivery.error.startswith("HTTP 500")


def test_no_retry_on_400_and_the_receivers_reason_is_kept() -> None:
    with Receiver([Reply(400, b"invalid_payload", {"Content-Type": "text/plain"})]) as receiver:
        [delivery] = notify([hook(receiver.url, "slack", retries=3)], event(), base_delay_s=FAST)
        assert len(receiver.requests) == 1
    assert delivery == Delivery(
        "slack-hook", False, 1, 400, "HTTP 400 Bad Request: invalid_payload"
    )


# -- failures never raise, and never leak the URL's secret ----------------------------------------
def assert_warned_safely(caplog: pytest.LogCaptureFixture, name: str) -> None:
    warnings = [
        r for r in caplog.records if r.name == "shipyard.notify" and r.levelno == logging.WARNING
    ]
    assert warnings, "a failed delivery must log a warning"
    text = "\n".join(record.getMessage() for record in warnings)
    assert name in text and "http://127.0.0.1:" in text
    assert "SECRET" not in caplog.text


def test_connection_refused_returns_a_failed_delivery(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="shipyard.notify")
    url = unused_url(f"{SECRET_PATH}?{SECRET_QUERY}")
    [delivery] = notify([hook(url, name="down", retries=1)], event(), base_delay_s=FAST)
    assert not delivery.ok and delivery.attempts == 2 and delivery.status is None
    assert delivery.error and "ConnectError" in delivery.error and "SECRET" not in delivery.error
    assert_warned_safely(caplog, "down")


def test_timeout_returns_a_failed_delivery(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="shipyard.notify")
    # the receiver would answer 200 after 10 minutes: a delivery that waited for it would be ok
    with Receiver(default=Reply(delay_s=600.0)) as receiver:
        url = f"{receiver.url}{SECRET_PATH}?{SECRET_QUERY}"
        [delivery] = notify([hook(url, name="slow", timeout_s=0.2, retries=1)], event(),
                            base_delay_s=FAST)
        assert len(receiver.requests) == 2
    assert not delivery.ok and delivery.attempts == 2
    assert delivery.error and delivery.error.startswith("timed out after 0.2s")
    assert_warned_safely(caplog, "slow")


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/SECRET", "http://:80/SECRET"])
def test_bad_urls_fail_without_retry(url: str, caplog: pytest.LogCaptureFixture) -> None:
    [delivery] = notify([hook(url, name="typo")], event(), base_delay_s=FAST)
    assert not delivery.ok and delivery.attempts == 1
    assert "SECRET" not in (delivery.error or "") and "SECRET" not in caplog.text
    assert "typo" in caplog.text


def test_one_failing_webhook_does_not_stop_the_others() -> None:
    with Receiver() as good, Receiver(default=400) as refusing:
        webhooks = [
            hook(good.url + "/teams", "teams", name="teams"),
            hook(unused_url(), name="down", retries=1),
            hook(refusing.url, name="refusing"),
            hook(good.url + "/slack", "slack", name="slack"),
        ]
        deliveries = notify(webhooks, event(), base_delay_s=FAST)
        assert [request.path for request in good.requests] == ["/teams", "/slack"]
    assert [(d.webhook, d.ok) for d in deliveries] == [
        ("teams", True), ("down", False), ("refusing", False), ("slack", True)
    ]


def test_a_given_client_is_reused_and_left_open() -> None:
    with Receiver() as receiver, httpx.Client() as client:
        notify([hook(receiver.url, name="a"), hook(receiver.url, name="b")], event(),
               client=client)
        assert not client.is_closed
        assert len(receiver.requests) == 2


def test_default_backoff_is_the_module_constant(monkeypatch: pytest.MonkeyPatch) -> None:
    from shipyard.notify import webhooks

    monkeypatch.setattr(webhooks, "BASE_DELAY_S", 0.001)
    with Receiver([503, 503]) as receiver:
        [delivery] = notify([hook(receiver.url)], event())
    assert delivery.ok and delivery.attempts == 3
    assert webhooks._backoff(1, 0.2) == 0.2 and webhooks._backoff(3, 0.2) == pytest.approx(0.8)
    assert webhooks._backoff(10, 0.2) == webhooks.MAX_DELAY_S


def test_safe_url_keeps_scheme_and_host_only() -> None:
    assert safe_url("https://user:pw@example.com:8443/hooks/SECRET?sig=X") == (
        "https://example.com:8443"
    )
    assert safe_url("not a url") == "<invalid URL>"


def test_a_password_in_an_event_never_reaches_a_receiver() -> None:
    remember_url("postgresql+psycopg://app:N0tify5ecret@db/meta")
    leaky = event("run_failed", summary="step fit failed: login N0tify5ecret refused",
                  details={"error": "dsn host=db password=Unkn0wnPw", "url":
                           "postgresql://app:N0tify5ecret@db/meta"})
    with Receiver() as receiver:
        for kind in ("json", "slack", "teams"):
            assert notify([hook(receiver.url + "/hook", kind)], leaky)[0].ok
        bodies = [r.body.decode() for r in receiver.wait_for(3)]
    assert all("N0tify5ecret" not in body and "Unkn0wnPw" not in body for body in bodies)
    assert "login *** refused" in bodies[0] and "app:***@db" in bodies[0]
