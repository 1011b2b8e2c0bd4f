"""Reports: the validation, comparison and monitoring reports the pages link to, served from
the environment's state to a signed-in browser.

The CLI prints where a report is (a path, or an object store URL a browser cannot open); the
pages link here instead. Only keys under ``reports/`` ending in ``.html`` or ``.json`` are
served, never the rest of the state (cached step outputs, compiled models). A report's page is
a document of its own, so it gets a policy of its own: it may run its own inline scripts,
sandboxed (an origin of its own: no cookie, no call to this server as the signed-in browser),
and load nothing but the chart library. A saved monitoring report refers to the library beside
it in the state (``../plotly.min.js``), which a sandboxed page cannot fetch with the session;
served here, it gets the UI's own public copy (``/ui/static/plotly.min.js``) instead.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from shipyard.errors import NotFoundError
from shipyard.monitoring.report import CHART_LIBRARY
from shipyard.project import Project
from shipyard.ui.render import href
from shipyard.ui.session import Session, project, viewer

__all__ = ["REPORT_POLICY", "report_href", "router"]

router = APIRouter()

KINDS = {".html": "text/html; charset=utf-8", ".json": "application/json"}
REPORT_POLICY = ("sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
                 "style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'")


def report_key(key: str) -> str:
    """``key`` when it names a report, else a 404: under ``reports/``, no step out of it."""
    parts = PurePosixPath(key).parts
    if (len(parts) < 2 or parts[0] != "reports" or PurePosixPath(key).suffix not in KINDS
            or any(p in ("..", ".") or "\\" in p or "\x00" in p for p in parts)):
        raise NotFoundError(f"no report {key!r}: reports are reached from the pages that "
                            f"link to them")
    return key


@router.get("/reports/{key:path}")
def report(key: str, request: Request, _: Annotated[Session, Depends(viewer)],
           p: Annotated[Project, Depends(project)]) -> Response:
    """The report at ``key`` in the selected environment's state, as it was saved."""
    data = p.state.get(report_key(key))
    library = str(request.url_for("plotly_min_js"))
    data = data.replace(f'src="{CHART_LIBRARY}"'.encode(), f'src="{library}"'.encode())
    policy = REPORT_POLICY.replace("script-src 'unsafe-inline'",
                                   f"script-src 'unsafe-inline' {library}")
    return Response(data, media_type=KINDS[PurePosixPath(key).suffix],
                    headers={"Content-Security-Policy": policy,
                             "Cache-Control": "private, max-age=300"})


def report_href(request: Request, where: str | None) -> str | None:
    """The UI's link to the report a record says is at ``where`` (a path or URL in the
    environment's state), or None when ``where`` is not one."""
    if not where:
        return None
    key = project(request).state.key_of(where)
    try:
        return href(request, f"/reports/{report_key(key)}") if key else None
    except NotFoundError:
        return None
