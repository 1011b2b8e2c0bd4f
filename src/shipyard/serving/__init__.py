"""Serving: the HTTP API (FastAPI on uvicorn), its limits, and the load generator."""

from __future__ import annotations

from shipyard.serving.app import create_app
from shipyard.serving.auth import ApiKeys

__all__ = ["ApiKeys", "create_app"]
