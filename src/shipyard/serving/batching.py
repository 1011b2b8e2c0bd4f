"""Adaptive micro-batching: concurrent predict requests share one model call.

A one-row ``predict_proba`` of a scikit-learn pipeline costs milliseconds of fixed overhead,
while each extra row in the same call costs microseconds (a compiled ONNX graph,
:mod:`shipyard.train.compiled`, costs tens of microseconds a call, and batching still saves
the per-call part). Requests queue their rows; one
worker takes whatever is waiting (up to ``max_size`` rows, waiting at most ``max_wait_ms`` for
more only while other requests are on their way), scores them in one call in a thread, and
hands each request its slice. With one client nothing waits, so latency does not grow at low
load.

The worker is shared by every request, so nothing one request holds may end it: whatever a
batch raises is caught, the batch is scored again request by request so that only the request
at fault fails, and the loop goes on. Should the worker ever end all the same, :attr:`alive`
says so (``/ready`` reports it) and every waiting or later request fails at once with
:class:`BatcherStopped` instead of hanging until its timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from shipyard.names import Signature
from shipyard.train.metrics import Task
from shipyard.train.outputs import outputs

__all__ = ["BatcherStopped", "MicroBatcher", "Prediction"]

logger = logging.getLogger(__name__)

Item = tuple[list[dict[str, Any]], "asyncio.Future[Prediction]"]


@dataclass(frozen=True)
class Prediction:
    probabilities: np.ndarray
    """One number per row: the positive-class probability, or a regressor's value (``task``)."""
    version: int
    batch_rows: int
    task: Task = "classification"


class BatcherStopped(RuntimeError):
    """The batching worker is not running: the model cannot answer until a restart."""


class MicroBatcher:
    def __init__(self, slots: Any, name: str, *, max_size: int, max_wait_ms: float,
                 on_batch: Callable[[str, int], None] | None = None) -> None:
        self.slots = slots
        self.name = name
        self.max_size = max_size
        self.max_wait_s = max_wait_ms / 1000
        self.on_batch = on_batch
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.in_flight = 0

    @property
    def alive(self) -> bool:
        """The worker is running (started and not ended)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        self._task.add_done_callback(self._ended)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def predict(self, rows: list[dict[str, Any]]) -> Prediction:
        if not self.alive:
            raise BatcherStopped(f"the batching worker of {self.name!r} is not running")
        future: asyncio.Future[Prediction] = asyncio.get_running_loop().create_future()
        self.in_flight += 1
        try:
            await self.queue.put((rows, future))
            return await future
        finally:
            self.in_flight -= 1

    def _ended(self, task: asyncio.Task[None]) -> None:
        """Fail whatever still waits: nobody is left to answer it."""
        if not task.cancelled() and task.exception() is not None:
            logger.error("the batching worker of %r ended: %r", self.name, task.exception())
        while not self.queue.empty():
            _, future = self.queue.get_nowait()
            if not future.done():
                future.set_exception(BatcherStopped(
                    f"the batching worker of {self.name!r} ended"))

    async def _run(self) -> None:
        while True:
            batch: list[Item] = []
            try:
                batch = await self._gather()
                await self._answer(batch)
            except Exception as error:  # the worker must outlive whatever a request holds
                logger.exception("batch of %d request(s) for %r failed", len(batch), self.name)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)

    async def _gather(self) -> list[Item]:
        """The next batch: what waits now, plus what arrives within ``max_wait_ms`` while
        other requests are known to be on their way."""
        loop = asyncio.get_running_loop()
        batch = [await self.queue.get()]
        size = len(batch[0][0])
        deadline = loop.time() + self.max_wait_s
        while size < self.max_size:
            if self.queue.empty():
                remaining = deadline - loop.time()
                if remaining <= 0 or self.in_flight <= len(batch):
                    break  # nobody else is on the way: do not make this request wait
                try:
                    item = await asyncio.wait_for(self.queue.get(), remaining)
                except TimeoutError:
                    break
            else:
                item = self.queue.get_nowait()
            batch.append(item)
            size += len(item[0])
        return batch

    async def _answer(self, batch: list[Item]) -> None:
        served = self.slots.current[self.name]  # one version for the whole batch
        try:
            scores = await self._score(served, [row for rows, _ in batch for row in rows],
                                       threaded=self.in_flight > 1)
        except Exception:
            if len(batch) == 1:
                raise
            # One request spoilt the batch: score each alone so only that one fails.
            for item in batch:
                try:
                    await self._answer([item])
                except Exception as error:  # noqa: BLE001 - the request at fault gets it
                    if not item[1].done():
                        item[1].set_exception(error)
            return
        size = len(scores)
        if self.on_batch is not None:
            self.on_batch(self.name, size)
        start = 0
        for rows, future in batch:
            if not future.done():
                future.set_result(Prediction(scores[start:start + len(rows)], served.version,
                                             size, served.task))
            start += len(rows)

    @staticmethod
    async def _score(served: Any, rows: list[dict[str, Any]], *, threaded: bool) -> np.ndarray:
        if served.compiled is not None:
            # tens of microseconds for a batch: a thread hop would cost more than it frees
            return served.compiled.predict_rows(rows)
        if not threaded:  # alone: a thread hop only adds latency
            return _score(served.model, rows, served.inputs, served.task)
        # others are arriving: let the loop take them in while the model runs
        return await asyncio.to_thread(_score, served.model, rows, served.inputs, served.task)


def _score(model: Any, rows: list[dict[str, Any]], inputs: Signature,
           task: Task) -> np.ndarray:
    """The scikit-learn path: the rows as a frame, the columns in signature order."""
    frame = pd.DataFrame(rows)
    columns = [name for name, _, _ in inputs] or list(frame.columns)
    for name in columns:
        if name not in frame.columns:
            frame[name] = np.nan
    return outputs(model, frame[columns], task)
