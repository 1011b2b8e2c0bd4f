"""Serving pieces that need no server: API keys, the load generator's bounds, and the
micro-batcher with a real scikit-learn model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from shipyard.errors import ConfigError
from shipyard.serving.auth import ApiKeys
from shipyard.serving.batching import BatcherStopped, MicroBatcher, Prediction
from shipyard.serving.loadtest import run_load
from shipyard.serving.served import Served

KEY = "k" * 20
HERE = "192.0.2.1"  # the client address keys are checked for


def test_keys_are_kept_as_digests_and_checked() -> None:
    keys = ApiKeys([KEY, "second-key-0123456789"])
    assert keys.role_for(KEY, HERE) and keys.role_for("second-key-0123456789", HERE)
    assert not keys.role_for("k" * 19, HERE) and not keys.role_for(None, HERE)
    assert not keys.role_for("", HERE)
    assert KEY not in repr(vars(keys))  # only digests are held


def test_keys_come_from_a_file_or_the_environment(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "keys").write_text(f"# ops team\n{KEY}\n\n")
    assert ApiKeys.load(tmp_path / "keys").role_for(KEY, HERE)
    monkeypatch.setenv("SHIPYARD_API_KEYS", f"{KEY},other-key-0123456789")
    assert ApiKeys.load().role_for("other-key-0123456789", HERE)
    monkeypatch.delenv("SHIPYARD_API_KEYS")
    with pytest.raises(ConfigError, match="SHIPYARD_API_KEYS"):
        ApiKeys.load()
    with pytest.raises(ConfigError, match="shorter than 16"):
        ApiKeys(["short"])


def test_a_load_test_must_be_bounded() -> None:
    with pytest.raises(ValueError, match="bounded"):
        run_load("http://127.0.0.1:9/", concurrency=1)
    with pytest.raises(ValueError, match="duration"):
        run_load("http://127.0.0.1:9/", duration_s=601)


def test_connection_errors_are_counted_not_raised() -> None:
    report = run_load("http://127.0.0.1:9/", concurrency=2, requests=4)
    assert report.requests == 4 and report.failures == 4
    assert set(report.statuses) == {"ConnectError"}


def test_a_load_test_stops_once_its_condition_holds() -> None:
    report = run_load("http://127.0.0.1:9/", concurrency=2, requests=1000,
                      until=lambda so_far: so_far.requests >= 10)
    assert 10 <= report.requests < 1000


@pytest.fixture
def batcher() -> MicroBatcher:
    """A batcher over a real model that refuses a category it never saw."""
    model = make_pipeline(OneHotEncoder(handle_unknown="error"), LogisticRegression())
    model.fit(pd.DataFrame({"c": ["a", "b", "a", "b"]}), [0, 1, 0, 1])
    served = Served("m", 3, model, [("c", "string", True)], [{"c": "a"}])
    # many rows wait up to 5 s for each other: the requests below share one batch
    return MicroBatcher(SimpleNamespace(current={"m": served}), "m", max_size=64,
                        max_wait_ms=5000)


@pytest.mark.anyio
async def test_a_request_the_model_or_pandas_cannot_take_fails_alone(
        batcher: MicroBatcher) -> None:
    batcher.start()
    rows = ["a", "unseen", "b", "\ud800", "a"]  # an unknown category, a lone surrogate
    answers = await asyncio.wait_for(asyncio.gather(
        *(batcher.predict([{"c": c}]) for c in rows), return_exceptions=True), 60)
    failed = [c for c, answer in zip(rows, answers, strict=True)
              if not isinstance(answer, Prediction)]
    assert failed == ["unseen", "\ud800"], answers
    assert batcher.alive
    assert (await asyncio.wait_for(batcher.predict([{"c": "b"}]), 60)).version == 3
    await batcher.stop()


@pytest.mark.anyio
async def test_a_batcher_that_ended_says_so_at_once(batcher: MicroBatcher) -> None:
    with pytest.raises(BatcherStopped):  # never started
        await batcher.predict([{"c": "a"}])
    batcher.start()
    await batcher.stop()
    for _ in range(6000):
        if not batcher.alive:
            break
        await asyncio.sleep(0.01)
    assert not batcher.alive
    with pytest.raises(BatcherStopped, match="not running"):
        await asyncio.wait_for(batcher.predict([{"c": "a"}]), 60)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
