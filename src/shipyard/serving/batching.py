"""Adaptive micro-batching: concurrent predict requests share one model call.

A one-row ``predict_proba`` of a scikit-learn pipeline costs milliseconds of fixed overhead,
while each extra row in the same call costs microseconds. Requests queue their rows; one
worker takes whatever is waiting (up to ``max_size`` rows, waiting at most ``max_wait_ms`` for
more only while other requests are on their way), scores them in one call in a thread, and
hands each request its slice. With one client nothing waits, so latency does not grow at low
load.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MicroBatcher", "Prediction"]


@dataclass(frozen=True)
class Prediction:
    probabilities: np.ndarray
    version: int
    batch_rows: int


class MicroBatcher:
    def __init__(self, slots: Any, name: str, *, max_size: int, max_wait_ms: float,
                 on_batch: Any = None) -> None:
        self.slots = slots
        self.name = name
        self.max_size = max_size
        self.max_wait_s = max_wait_ms / 1000
        self.on_batch = on_batch
        self.queue: asyncio.Queue[tuple[list[dict[str, Any]], asyncio.Future[Prediction]]] = (
            asyncio.Queue())
        self._task: asyncio.Task[None] | None = None
        self.in_flight = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def predict(self, rows: list[dict[str, Any]]) -> Prediction:
        future: asyncio.Future[Prediction] = asyncio.get_running_loop().create_future()
        self.in_flight += 1
        try:
            await self.queue.put((rows, future))
            return await future
        finally:
            self.in_flight -= 1

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
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
            served = self.slots.current[self.name]  # one version for the whole batch
            frame = pd.DataFrame([row for rows, _ in batch for row in rows])
            try:
                if self.in_flight == len(batch) == 1:  # alone: a thread hop only adds latency
                    scores = _score(served.model, frame, served.inputs)
                else:  # others are arriving: let the loop take them in while the model runs
                    scores = await asyncio.to_thread(_score, served.model, frame, served.inputs)
            except Exception as error:  # noqa: BLE001 - every waiting request gets the error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            if self.on_batch is not None:
                self.on_batch(self.name, served.version, size)
            start = 0
            for rows, future in batch:
                if not future.done():
                    future.set_result(Prediction(scores[start:start + len(rows)],
                                                 served.version, size))
                start += len(rows)


def _score(model: Any, frame: pd.DataFrame, inputs: list[tuple[str, str, bool]]) -> np.ndarray:
    columns = [name for name, _, _ in inputs] or list(frame.columns)
    for name in columns:
        if name not in frame.columns:
            frame[name] = np.nan
    return model.predict_proba(frame[columns])[:, 1]
