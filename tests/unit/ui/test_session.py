"""Signing in to the web UI: sessions, cookie flags, roles and CSRF, on a small project."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from shipyard.project import Project
from shipyard.serving.auth import ApiKeys
from shipyard.ui.app import standalone
from shipyard.ui.session import Sessions
from tests.signin import sign_in as post_key

OPERATOR = "o" * 24
VIEWER = "v" * 24


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    (tmp_path / "shipyard.yaml").write_text(
        "project: tiny\nenvironments:\n  dev: {lake: lake}\n  prod: {lake: lake-prod}\n")
    keys = ApiKeys([OPERATOR, f"{VIEWER}:viewer"])
    return TestClient(standalone(tmp_path, keys, default_env="dev"), follow_redirects=False)


def sign_in(client: TestClient, key: str) -> str:
    """Signs in; the CSRF token of the session (read from a page's sign-out form)."""
    done = post_key(client, key)
    assert done.status_code == 303, done.text
    page = client.get("/ui/")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match[1]


def test_pages_ask_for_sign_in_and_the_key_travels_only_in_a_post(client: TestClient) -> None:
    page = client.get("/ui/runs?env=dev")
    assert page.status_code == 303
    assert page.headers["location"] == "/ui/login?next=%2Fui%2Fruns%3Fenv%3Ddev"
    form = client.get(page.headers["location"])
    assert form.status_code == 200 and 'method="post"' in form.text and 'type="password"' in form.text
    wrong = post_key(client, "x" * 24)
    assert wrong.status_code == 401 and "not one this server accepts" in wrong.text
    done = post_key(client, OPERATOR, target="/ui/runs?env=dev")
    assert done.status_code == 303 and done.headers["location"] == "/ui/runs?env=dev"
    assert OPERATOR not in done.headers["location"] + done.headers["set-cookie"]


def test_the_session_cookie_is_httponly_samesite_and_secure_over_https(tmp_path: Path,
                                                                       client: TestClient) -> None:
    cookie = post_key(client, OPERATOR).headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/ui" in cookie
    assert "secure" not in cookie
    https = TestClient(client.app, base_url="https://testserver", follow_redirects=False)
    cookie = post_key(https, OPERATOR).headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie


def test_next_never_leads_to_another_site(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        done = post_key(client, OPERATOR, target=target)
        assert done.headers["location"].startswith("/ui/?env=dev"), target


def test_sign_out_needs_the_token_and_ends_the_session(client: TestClient) -> None:
    token = sign_in(client, VIEWER)
    forged = client.post("/ui/logout", data={})
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert client.get("/ui/").status_code == 200  # still signed in
    done = client.post("/ui/logout", data={"csrf_token": token})
    assert done.status_code == 303
    assert client.get("/ui/").status_code == 303  # the session is gone, not only the cookie


def test_sessions_end_after_their_time(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'metadata.db'}")
    sessions = Sessions(ApiKeys([OPERATOR]), engine, ttl_s=-1)
    session = sessions.sign_in(OPERATOR, "testclient")
    assert session is not None and session.role == "operator"
    assert sessions.get(session.id) is None
    assert Sessions(ApiKeys([OPERATOR]), engine).sign_in("nope" * 6, "testclient") is None


def test_a_session_is_every_servers_and_outlives_a_restart(tmp_path: Path,
                                                            client: TestClient) -> None:
    token = sign_in(client, OPERATOR)
    cookie = {"shipyard_session": client.cookies["shipyard_session"]}
    # Another server of the project (or this one restarted): a new app on the same database.
    other = TestClient(standalone(tmp_path, ApiKeys([OPERATOR, f"{VIEWER}:viewer"]),
                                  default_env="dev"), follow_redirects=False, cookies=cookie)
    page = other.get("/ui/")
    assert page.status_code == 200 and f'value="{token}"' in page.text  # the same CSRF token
    assert other.post("/ui/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/ui/").status_code == 303  # signed out through one: out of every one


def test_only_the_tokens_digest_is_stored(tmp_path: Path, client: TestClient) -> None:
    sign_in(client, OPERATOR)
    cookie = client.cookies["shipyard_session"]
    engine = Project.open(tmp_path, "dev").metadata_engine
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM shipyard_ui_sessions")).all()
    stored = " ".join(str(value) for row in rows for value in row)
    assert len(rows) == 1 and hashlib.sha256(cookie.encode()).hexdigest() in stored
    assert cookie not in stored and OPERATOR not in stored


def test_a_withdrawn_key_ends_its_sessions(tmp_path: Path, client: TestClient) -> None:
    sign_in(client, VIEWER)
    cookie = {"shipyard_session": client.cookies["shipyard_session"]}
    for keys in (ApiKeys([OPERATOR]), ApiKeys([OPERATOR, VIEWER])):  # gone; now an operator's
        restarted = TestClient(standalone(tmp_path, keys, default_env="dev"),
                               follow_redirects=False, cookies=cookie)
        assert restarted.get("/ui/").status_code == 303


def test_a_message_left_through_one_server_shows_once_through_another(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'metadata.db'}")
    here, there = (Sessions(ApiKeys([OPERATOR]), engine) for _ in range(2))
    session = here.sign_in(OPERATOR, "testclient")
    assert session is not None
    here.say(session, "promoted")
    here.say(session, "compared")
    shown = there.get(session.id)
    assert shown is not None and shown.flash == ["promoted", "compared"]
    again = there.get(session.id)
    assert again is not None and again.flash == []


def test_the_environment_switcher_lists_the_project_environments(client: TestClient) -> None:
    sign_in(client, VIEWER)
    page = client.get("/ui/?env=prod")
    assert '<option value="prod" selected>' in page.text and '<option value="dev">' in page.text
    unknown = client.get("/ui/lake?env=nope")
    assert unknown.status_code == 404 and "unknown environment" in unknown.text


def test_static_files_and_plotly_come_from_the_package(client: TestClient) -> None:
    css = client.get("/ui/static/shipyard.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    js = client.get("/ui/static/plotly.min.js")
    assert js.status_code == 200 and "plotly" in js.text[:2000].lower()


def test_pages_refuse_to_be_framed_and_say_their_server_time(client: TestClient) -> None:
    page = client.get("/ui/login")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["server-timing"].startswith("app;dur=")


def test_unknown_pages_and_bad_addresses_get_the_error_page(client: TestClient) -> None:
    sign_in(client, VIEWER)
    missing = client.get("/ui/nowhere")
    assert missing.status_code == 404 and "no such page" in missing.text
    assert 'aria-label="pages"' in missing.text  # signed in: the navigation bar is there
    bad = client.get("/ui/lake/batches/abc")
    assert bad.status_code == 400 and "batch_id" in bad.text


def test_signing_in_again_ends_the_previous_session(client: TestClient) -> None:
    sign_in(client, OPERATOR)
    old = client.cookies.get("shipyard_session")
    sign_in(client, VIEWER)
    assert client.cookies.get("shipyard_session") != old
    assert old is not None
    stale = TestClient(client.app, follow_redirects=False, cookies={"shipyard_session": old})
    assert stale.get("/ui/").status_code == 303  # the operator's session is gone


def test_the_sign_in_form_carries_a_token_another_sites_form_lacks(client: TestClient) -> None:
    # a form on another site can post a key (its own) but cannot read this page's token
    forged = client.post("/ui/login", data={"key": OPERATOR})
    assert forged.status_code == 403 and "token" in forged.text
    assert "shipyard_session" not in forged.headers.get("set-cookie", "")
    form = client.get("/ui/login")
    cookie = form.headers["set-cookie"].lower()
    assert "shipyard_sign_in=" in cookie and "path=/ui/login" in cookie and "samesite=strict" in cookie
    stranger = TestClient(client.app, follow_redirects=False)  # the token without its cookie
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    assert stranger.post("/ui/login", data={"key": OPERATOR, "csrf_token": token[1]}).status_code == 403
    assert sign_in(client, OPERATOR)


def test_pages_run_only_the_uis_own_scripts(client: TestClient) -> None:
    sign_in(client, OPERATOR)
    policy = client.get("/ui/").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    for path in ("/ui/", "/ui/login", "/ui/lake", "/ui/runs", "/ui/monitoring"):
        page = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path  # no inline script
        assert not re.search(r"\son[a-z]+=", page), path  # no inline event handler


def test_shipyard_ui_alone_cuts_a_large_body_before_reading_it(client: TestClient) -> None:
    # shipyard serve's limit (serving.max_body_bytes, 1 MiB): a POST to the sign-in page
    # without a key is refused at the limit, not read whole into memory
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"k" * 65536

    for body in (b"key=" + b"k" * 2_000_000, chunks()):
        answer = client.post("/ui/login", content=body,
                             headers={"content-type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 413, answer.text[:200]
        assert answer.headers["x-content-type-options"] == "nosniff"
