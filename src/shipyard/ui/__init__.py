"""The web UI: server-rendered pages over the same library calls as the CLI, mounted at /ui."""

from __future__ import annotations

from shipyard.ui.app import create_ui

__all__ = ["create_ui"]
