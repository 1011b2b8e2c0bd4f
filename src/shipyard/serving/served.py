"""The models a server answers with, and the watcher that swaps in a newly promoted version.

The server plans its routes from each model's signature (a small file) and starts listening;
the models themselves load in the background, and ``/ready`` says when they are all in.

Each served model sits in a slot; a request takes the slot's current ``Served`` once and uses
that object to the end, so a swap (one reference assignment) never mixes versions within a
request and never fails one. Loading the new version happens in a background thread, while
the old one keeps answering.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipyard.project import Project
from shipyard.registry import Registry

__all__ = ["ModelSlots", "Served"]

logger = logging.getLogger(__name__)
ALIAS = "production"


@dataclass(frozen=True)
class Served:
    name: str
    version: int
    model: Any
    inputs: list[tuple[str, str, bool]]
    example: list[dict[str, Any]]

    @property
    def is_recommender(self) -> bool:
        from shipyard.recsys.model import RecModel

        return isinstance(self.model, RecModel)


class ModelSlots:
    """Current production version of each served model, kept fresh by :meth:`watch`."""

    def __init__(self, project: Project, names: list[str],
                 on_load: Callable[[str, int], None] | None = None) -> None:
        """``on_load(name, version)`` is called each time a slot takes a version (at start,
        on promotion and on rollback), so what reports the served versions never waits for
        traffic to learn of a swap."""
        self.project = project
        self.names = names
        self.on_load = on_load
        self.current: dict[str, Served] = {}
        self.planned: dict[str, tuple[int, str, list[tuple[str, str, bool]]]] = {}
        self.swaps = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def plan(self) -> dict[str, tuple[int, str, list[tuple[str, str, bool]]]]:
        """Version, flavour and input signature of each model's production version, without
        loading any model: what the routes are built from."""
        registry = Registry.of(self.project)
        for name in self.names:
            version = registry.alias(name, ALIAS)
            if version is not None:
                self.planned[name] = (version, *registry.inputs(name, version))
        return self.planned

    def refresh(self) -> list[str]:
        """Load every model whose production alias moved; returns what changed."""
        registry = Registry.of(self.project)
        changed = []
        for name in self.names:
            version = registry.alias(name, ALIAS)
            held = self.current.get(name)
            if version is None or (held is not None and held.version == version):
                continue
            fetched = registry.fetch(name, version)
            rows = fetched.test_X.head(1).astype(object)
            example = [{str(k): v for k, v in r.items()}
                       for r in rows.where(rows.notna(), None).to_dict(orient="records")]
            self.current[name] = Served(name, version, fetched.model, fetched.inputs, example)
            self.swaps += held is not None
            if self.on_load is not None:
                self.on_load(name, version)
            changed.append(f"{name} v{version}")
            logger.info("serving %s version %s", name, version)
        if changed:  # keep the new model's objects out of full collections too (see app.py)
            gc.collect()
            gc.freeze()
        return changed

    def ready(self) -> bool:
        """Every model that had a production version at start-up is loaded."""
        return all(n in self.current for n in self.planned)

    def watch(self, every_s: float) -> None:
        """Load the models now, then look for newly promoted versions every ``every_s``."""
        def loop() -> None:
            while True:
                try:
                    self.refresh()
                except Exception as error:  # noqa: BLE001 - keep serving the loaded version
                    logger.warning("could not refresh models from the registry: %s", error)
                if self._stop.wait(every_s):
                    return

        self._thread = threading.Thread(target=loop, name="shipyard-model-watch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
