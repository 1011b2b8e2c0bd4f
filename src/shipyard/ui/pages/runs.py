"""The runs page (being built)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from shipyard.ui.render import render
from shipyard.ui.session import Session, viewer

router = APIRouter()


@router.get("/runs", response_class=HTMLResponse)
def page(request: Request, _: Annotated[Session, Depends(viewer)]) -> HTMLResponse:
    return render(request, "error.html", title="runs", message="coming")
