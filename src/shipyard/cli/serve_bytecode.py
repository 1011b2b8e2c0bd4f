"""``python -m shipyard.cli.serve_bytecode``: import what ``shipyard serve`` imports, so that an
image build writes the bytecode of exactly those modules.

The image installs its dependencies with ``pip install --no-compile``: compiling all of
site-packages (pip's default) puts ~200 MB of ``.pyc`` in the image, most of it for modules a
server never imports (the training and validation stacks, plotly's figure classes, MLflow's
GenAI modules). With no ``.pyc`` at all, every cold start compiles what it imports again: the
server's own user cannot write ``/opt/venv``, and a container starts from the image each time.
So the Dockerfile runs this module once, as root, with bytecode writing on: the import leaves a
``.pyc`` beside each module the server imports and none elsewhere.

:data:`SERVER` is what a server with its models loaded imports: the CLI command, the app and the
UI's pages, uvicorn's event loop and HTTP parser, both model flavours' loaders (scikit-learn
through skops with the ONNX runtime beside it, and the recommender), and the MLflow stores the
registry is read from. ``tests/e2e/test_serve_imports.py`` checks it covers what a server with
the Titanic model loaded really imports.
"""

from __future__ import annotations

import sys
from importlib import import_module

__all__ = ["SERVER", "main"]

SERVER = (
    "shipyard.cli.main",
    "shipyard.cli.serve",
    "shipyard.serving",
    "shipyard.serving.drain",
    "shipyard.ui.app",
    "shipyard.ui.pages.overview",
    "shipyard.ui.pages.lake",
    "shipyard.ui.pages.runs",
    "shipyard.ui.pages.models",
    "shipyard.ui.pages.monitoring",
    "shipyard.ui.pages.recommendations",
    "shipyard.ui.pages.reports",
    "uvicorn",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.lifespan.on",
    "anyio._backends._asyncio",
    "shipyard.registry.client",
    "shipyard.train.persist",
    "shipyard.train.compiled",
    "skops.io",
    "onnxruntime",
    "shipyard.recsys.model",
    "plotly",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.postgresql.psycopg",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "mlflow.store.artifact.local_artifact_repo",
)
"""Modules whose imports are a server's (the UI's pages: shipyard.ui.app.PAGES)."""


def main() -> None:
    for name in SERVER:
        import_module(name)
    sys.stdout.write(f"imported {len(SERVER)} modules of shipyard serve and {len(sys.modules)} in all\n")


if __name__ == "__main__":
    main()
