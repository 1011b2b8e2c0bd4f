"""The models a server answers with, and the watcher that swaps in a newly promoted version.

The server plans its routes from each model's signature (a small file) and starts listening;
the models themselves load in the background, and ``/ready`` says when they are all in.

Each served model sits in a slot; a request takes the slot's current ``Served`` once and uses
that object to the end, so a swap (one reference assignment) never mixes versions within a
request and never fails one. Loading the new version happens in a background thread, while
the old one keeps answering.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from shipyard.names import PRODUCTION, Signature
from shipyard.project import Project
from shipyard.registry import Registry
from shipyard.train.categories import known_categories
from shipyard.train.compiled import CompiledModel
from shipyard.train.metrics import Task
from shipyard.train.outputs import task_of

__all__ = ["ModelSlots", "Served"]

logger = logging.getLogger(__name__)
ALIAS = PRODUCTION


@dataclass(frozen=True)
class Served:
    name: str
    version: int
    model: Any
    inputs: Signature
    example: list[dict[str, Any]]
    categories: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    """Input column → the categories the model learnt for it (others are refused)."""
    compiled: CompiledModel | None = None
    """The version's checked ONNX graph in its session: what answers when there is one."""
    served_by: str = "sklearn"
    """Which path answers, and why (``onnx (…)`` or ``sklearn (…)``), for the log."""
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Numeric input column → its smallest and largest training value (values far outside
    are refused: ``serving.input_margin``); empty for a version registered before."""
    task: Task = "classification"
    """What its one number per row is: a probability, or a regressor's value."""

    @property
    def is_recommender(self) -> bool:
        from shipyard.recsys.model import RecModel

        return isinstance(self.model, RecModel)


class ModelSlots:
    """Current production version of each served model, kept fresh by :meth:`watch`.

    A model with no production version yet (at start-up, or registered since) is watched like
    the others: its first version is taken up the way a newer one is, so a server never needs a
    restart to serve a model promoted after it started.
    """

    def __init__(self, project: Project, names: list[str],
                 on_load: Callable[[Served], None] | None = None) -> None:
        """``on_load(served)`` is called each time a slot is about to take a version (at
        start, on a first promotion, on promotion and on rollback), before any request can
        get it: what depends on the served version (the routes, the version gauge) follows
        the swap at once, never at the next request. If it raises, the slot keeps its
        version and the next poll tries again."""
        self.project = project
        self.names = names
        self.on_load = on_load
        self.current: dict[str, Served] = {}
        self.planned: dict[str, tuple[int, str, Signature]] = {}
        self.promoted: dict[str, int] = {}
        """The production version last found in the registry for each model, loaded or not."""
        self.swaps = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def plan(self) -> dict[str, tuple[int, str, Signature]]:
        """Version, flavour and input signature of each model's production version, without
        loading any model: what the routes are built from."""
        registry = Registry.of(self.project)
        for name in self.names:
            version = registry.alias(name, ALIAS)
            if version is not None:
                self.promoted[name] = version
                self.planned[name] = (version, *registry.inputs(name, version))
        return self.planned

    def load_changed(self) -> list[Served]:
        """Every model whose production alias moved (or appeared), loaded but not yet served."""
        registry = Registry.of(self.project)
        loaded = []
        for name in self.names:
            version = registry.alias(name, ALIAS)
            held = self.current.get(name)
            if version is None or (held is not None and held.version == version):
                continue
            self.promoted[name] = version
            fetched = registry.fetch(name, version)
            rows = fetched.test_X.head(1).astype(object)
            example = [{str(k): v for k, v in r.items()}
                       for r in rows.where(rows.notna(), None).to_dict(orient="records")]
            columns = {column for column, _, _ in fetched.inputs}
            categories = {c: known for c, known in known_categories(fetched.model).items()
                          if c in columns}
            ranges = {c: seen for c, seen in (fetched.profile.ranges() if fetched.profile
                                              else {}).items() if c in columns}
            loaded.append(Served(name, version, fetched.model, fetched.inputs, example,
                                 categories, *fetched.compiled_model(), ranges=ranges,
                                 task=task_of(fetched.model)))
        return loaded

    def install(self, served: Served) -> str:
        """Serve ``served`` from now on (one reference assignment); returns what changed."""
        if self.on_load is not None:
            self.on_load(served)
        self.swaps += served.name in self.current
        self.current[served.name] = served
        logger.info("serving %s version %s by %s", served.name, served.version,
                    served.served_by)
        return f"{served.name} v{served.version}"

    def refresh(self) -> list[str]:
        """Load and serve every model whose production alias moved; returns what changed."""
        changed = [self.install(served) for served in self.load_changed()]
        if changed:
            _freeze()
        return changed

    def missing(self) -> dict[str, int | None]:
        """Each model this server is to serve that it does not serve yet: the production
        version it is loading, or None when the model has none. A server with a model to
        serve and nothing to serve it with is not ready: a rollout must not count it up."""
        return {name: self.promoted.get(name) for name in self.names if name not in self.current}

    def ready(self) -> bool:
        """Every model this server is to serve is loaded."""
        return not self.missing()

    def watch(self, every_s: float, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Load the models now, then look for newly promoted versions every ``every_s``.

        Loading runs in a thread of its own, while the loaded versions answer; with ``loop``,
        installing runs on that event loop (where the routes live, see ``on_load``), the
        thread waiting for it unless told to stop.
        """
        def loop_body() -> None:
            while True:
                try:
                    changed = [self._install_on(loop, served) for served in self.load_changed()]
                    if changed:
                        _freeze()
                except Exception as error:  # noqa: BLE001 - keep serving the loaded version
                    logger.warning("could not refresh models from the registry: %s", error)
                if self._stop.wait(every_s):
                    return

        self._thread = threading.Thread(target=loop_body, name="shipyard-model-watch",
                                        daemon=True)
        self._thread.start()

    def _install_on(self, loop: asyncio.AbstractEventLoop | None, served: Served) -> str:
        if loop is None:
            return self.install(served)
        done: Future[str] = Future()

        def install() -> None:
            try:
                done.set_result(self.install(served))
            except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
                done.set_exception(error)

        loop.call_soon_threadsafe(install)
        while True:  # the loop may be stopping (close() blocks it): do not wait forever
            try:
                return done.result(timeout=0.5)
            except TimeoutError:
                if self._stop.is_set():
                    return "(server stopping)"

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _freeze() -> None:
    """Keep newly loaded models' objects out of full collections too (see app.py)."""
    gc.collect()
    gc.freeze()
