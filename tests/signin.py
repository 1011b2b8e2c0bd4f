"""Signing in to the web UI as a browser does: open the sign-in form (its token comes in the
page and in a cookie the client keeps), then post the key with the token."""

from __future__ import annotations

import httpx

from shipyard.ui.session import sign_in_token


def sign_in(client: httpx.Client, key: str, *, base: str = "", target: str | None = None,
            ) -> httpx.Response:
    """The answer to posting ``key`` (and ``target`` as ``next``) through ``client``'s sign-in
    form at ``{base}/ui/login``; the session cookie stays in ``client``."""
    form = client.get(f"{base}/ui/login")
    fields = {"key": key, "csrf_token": sign_in_token(form.text)}
    if target is not None:
        fields["next"] = target
    return client.post(f"{base}/ui/login", data=fields, follow_redirects=False)
