"""The API's ``/docs`` page: FastAPI's Swagger UI, under a content security policy of its own.

The page loads Swagger UI's script and stylesheet from its CDN and starts it with one inline
script; its policy allows those files and that script alone (by its SHA-256), and lets it
fetch only from this server (the OpenAPI document, the calls "Try it out" makes). Every other
answer of the API carries :data:`shipyard.asgi.API_POLICY`, which allows nothing.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

__all__ = ["docs_page"]

CDN = "https://cdn.jsdelivr.net"
"""Where FastAPI's Swagger UI page loads swagger-ui-dist from."""
FAVICON = "https://fastapi.tiangolo.com"


def _inline_script_hashes(html: str) -> list[str]:
    """``'sha256-…'`` sources of the page's inline scripts, as browsers hash them."""
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
            for s in scripts]


def docs_page(openapi_url: str, title: str) -> HTMLResponse:
    """Swagger UI for the document at ``openapi_url``, with the policy that lets it run."""
    page = get_swagger_ui_html(openapi_url=openapi_url, title=title)
    html = bytes(page.body).decode()
    policy = "; ".join((
        "default-src 'none'", f"script-src {CDN} {' '.join(_inline_script_hashes(html))}",
        f"style-src {CDN} 'unsafe-inline'", f"img-src 'self' data: {FAVICON}",
        "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"))
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})
