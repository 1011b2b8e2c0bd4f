"""The micro-batcher in process: concurrent requests share a model call, each gets its own
rows' scores, and a request that spoils a batch fails alone while the worker goes on."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.serving.batching import MicroBatcher, Prediction
from shipyard.serving.served import Served

INPUTS = [("x", "double", False), ("y", "double", False)]


class Slots:
    """What the batcher reads: the served version of each model (a ModelSlots stand-in that
    holds a real, fitted scikit-learn model)."""

    def __init__(self, version: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        frame = pd.DataFrame(rng.normal(size=(200, 2)), columns=["x", "y"])
        model = LogisticRegression().fit(frame, (frame.x + frame.y > 0).astype(int))
        self.current = {"m": Served("m", version, model, INPUTS, [])}


def rows(n: int) -> list[dict[str, Any]]:
    return [{"x": i / 10 - 1, "y": 1 - i / 7} for i in range(n)]


def alone(slots: Slots, row: dict[str, Any]) -> float:
    return float(slots.current["m"].model.predict_proba(pd.DataFrame([row])[["x", "y"]])[0, 1])


def concurrently(slots: Slots, requests: list[list[dict[str, Any]]]
                 ) -> tuple[list[Prediction | BaseException], MicroBatcher]:
    async def main() -> tuple[list[Prediction | BaseException], MicroBatcher]:
        batcher = MicroBatcher(slots, "m", max_size=64, max_wait_ms=50)
        batcher.start()
        answers = await asyncio.gather(*(batcher.predict(r) for r in requests),
                                       return_exceptions=True)
        after = await batcher.predict(rows(1))  # the worker still answers
        assert batcher.alive and after.probabilities.shape == (1,)
        await batcher.stop()
        return answers, batcher
    return asyncio.run(main())


def test_concurrent_requests_share_a_call_and_each_gets_its_own_scores() -> None:
    slots = Slots(version=3, seed=0)
    requests = [[row] for row in rows(20)] + [rows(5)]
    answers, _ = concurrently(slots, requests)
    assert all(isinstance(a, Prediction) for a in answers)
    assert max(a.batch_rows for a in answers) > 1  # shared at least one model call
    for request, answer in zip(requests, answers, strict=True):
        assert answer.version == 3
        assert answer.probabilities == pytest.approx([alone(slots, r) for r in request])


def test_a_request_that_spoils_its_batch_fails_alone() -> None:
    slots = Slots(version=1, seed=1)
    requests = [[row] for row in rows(6)]
    requests.insert(3, [{"x": "not a number", "y": 0.0}])
    answers, _ = concurrently(slots, requests)
    assert isinstance(answers[3], ValueError)
    good = [a for i, a in enumerate(answers) if i != 3]
    assert all(isinstance(a, Prediction) for a in good)
    assert [float(a.probabilities[0]) for a in good] == pytest.approx(
        [alone(slots, r[0]) for i, r in enumerate(requests) if i != 3])


def test_a_swapped_slot_answers_the_next_batch_with_its_version() -> None:
    slots = Slots(version=1, seed=2)
    first, _ = concurrently(slots, [rows(2)])
    slots.current = Slots(version=2, seed=3).current  # what a hot swap does to the slot
    second, _ = concurrently(slots, [rows(2)])
    assert (first[0].version, second[0].version) == (1, 2)
    assert second[0].probabilities == pytest.approx([alone(slots, r) for r in rows(2)])
