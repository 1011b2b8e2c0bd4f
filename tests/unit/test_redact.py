"""Redaction: URLs lose their credentials, text loses known secrets, logs and warnings too."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator

import pytest

from shipyard.config import parse_config
from shipyard.errors import ConfigError
from shipyard.redact import install, redact_text, redact_url, remember_url, reveal


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://app:hunter2x@db:5432/meta",
     "postgresql+psycopg://app:***@db:5432/meta"),
    ("postgresql+psycopg://app:p%40ss%2Fw@db/meta?sslmode=require",
     "postgresql+psycopg://app:***@db/meta?sslmode=require"),
    ("postgresql://app@db/meta?password=hunter2x", "postgresql://app@db/meta?password=***"),
    ("https://acct.blob.core.windows.net/c?sv=2022&sig=abc%2Bdef&se=2030",
     "https://acct.blob.core.windows.net/c?sv=2022&sig=***&se=2030"),
    ("http://user:hunter2x@mlflow:5000", "http://user:***@mlflow:5000"),
    ("https://hooks.example.com/x?api_key=k123&channel=ml",
     "https://hooks.example.com/x?api_key=***&channel=ml"),
])
def test_a_url_loses_its_password_and_secret_query_values(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize("url", [
    "sqlite:////abs/path/metadata.db", "sqlite:///relative.db", "s3://bucket/lake",
    "http://127.0.0.1:5000", "postgresql+psycopg://app@db:5432/meta?sslmode=require",
])
def test_a_url_without_secrets_is_unchanged(url: str) -> None:
    assert redact_url(url) == url


def test_known_secrets_are_masked_in_text_as_written_and_decoded() -> None:
    remember_url("postgresql+psycopg://app:Kn0wn%40Secret@db/meta")
    text = redact_text("login for app failed (password Kn0wn@Secret); url had Kn0wn%40Secret")
    assert "Kn0wn" not in text and text.count("***") == 2


def test_credentials_in_free_text_are_masked_unknown_or_not() -> None:
    text = redact_text("dsn host=db password=Unkn0wn1 user=app; see http://u:Unkn0wn2@h/x; "
                       "{'aws_secret_access_key': 'Unkn0wn3'}")
    assert "Unkn0wn" not in text
    assert "host=db" in text and "http://u:***@h/x" in text


def test_a_redacted_url_is_revealed_only_to_a_process_that_configured_it() -> None:
    url = "postgresql+psycopg://app:R3veal@db/mlflow"
    remember_url(url)
    assert reveal(redact_url(url)) == url
    assert reveal("postgresql+psycopg://other:***@db/x") == "postgresql+psycopg://other:***@db/x"


@pytest.fixture
def installed() -> Iterator[None]:
    factory = logging.getLogRecordFactory()
    install()
    try:
        yield
    finally:
        logging.setLogRecordFactory(factory)
        logging.captureWarnings(False)


def test_logs_and_warnings_are_redacted_whoever_emits_them(
        installed: None, caplog: pytest.LogCaptureFixture) -> None:
    remember_url("postgresql+psycopg://app:L0gged1x@db/meta")
    caplog.set_level(logging.WARNING)
    logging.getLogger("mlflow.store.db.utils").warning("engine for %s failed",
                                                       "postgresql+psycopg://app:L0gged1x@db")
    try:
        raise RuntimeError("connect with L0gged1x refused")
    except RuntimeError:
        logging.getLogger("some.library").exception("oops")
    warnings.warn("store postgresql://a:L0gged2y@h is slow", UserWarning, stacklevel=1)
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "L0gged" not in text
    assert "app:***@db" in text and "RuntimeError" in text and "a:***@h" in text


def test_a_config_error_does_not_quote_a_password() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({"project": "p", "environments": {"dev": {"lake": "lake"}},
                      "sources": {"s": {"url": "postgresql://u:Cfg5ecret@h/db",
                                        "chunk_rows": "postgresql://u:Cfg5ecret@h/db"}}})
    assert "chunk_rows" in str(error.value) and "Cfg5ecret" not in str(error.value)


@pytest.mark.parametrize(("url", "kept"), [
    ("https://hooks.slack.com/services/T0AAA1111/B0BBB2222/Slk5ecretT0ken9x",
     "https://hooks.slack.com/services/***"),
    ("https://contoso.webhook.office.com/webhookb2/1a2b3c@4d5e6f/IncomingWebhook/Tms5ecret9/77",
     "https://contoso.webhook.office.com/webhookb2/***"),
    (("https://prod-27.westus.logic.azure.com:443/workflows/Wf5ecret9/triggers/manual/paths/"
     "invoke?api-version=2016-06-01&sp=%2Ftriggers&sig=Sig5ecret9"),
     "https://prod-27.westus.logic.azure.com:443/workflows/***"),
])
def test_slack_and_teams_webhook_urls_lose_their_secret_path_in_any_text(url: str,
                                                                        kept: str) -> None:
    text = redact_text(f'HTTP Request: POST {url} "HTTP/1.1 200 OK"')
    assert kept in text and "5ecret" not in text, text


def test_verbose_logs_of_a_configured_webhook_do_not_show_its_path(
        installed: None, caplog: pytest.LogCaptureFixture) -> None:
    # -v sets INFO: httpx then logs every request's full URL; a webhook's token is its path
    url = "http://127.0.0.1:9/services/T0AAA/B0BBB/H00k5ecretPathT0ken"
    parse_config({"project": "p", "environments": {"dev": {"lake": "lake"}},
                  "alerts": {"webhooks": [{"name": "team", "kind": "slack", "url": url}]}})
    caplog.set_level(logging.INFO)
    logging.getLogger("httpx").info('HTTP Request: %s %s "%s %d %s"', "POST", url,
                                    "HTTP/1.1", 200, "OK")
    assert "H00k5ecret" not in caplog.text and "http://127.0.0.1:9***" in caplog.text
