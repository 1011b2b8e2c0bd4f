"""Run records: ``latest`` names the newest run, and the list filters by status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shipyard.db import create_engine_for
from shipyard.errors import NotFoundError
from shipyard.tracking.records import RunStore


def _start(store: RunStore, pipeline: str, minutes: int) -> str:
    when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    return store.start(id=store.new_run_id(pipeline, when), pipeline=pipeline,
                       started_at=when, params={}, executor="local", env="prod",
                       data_versions={}, smoke=False, no_cache=False)


def test_latest_resolves_to_the_newest_run_and_status_filters(tmp_path: Path) -> None:
    store = RunStore(create_engine_for(f"sqlite:///{tmp_path / 'm.db'}", purpose="test"), env="prod")
    with pytest.raises(NotFoundError, match="no runs yet in prod; start one with 'shipyard run "
                                            "PIPELINE --env prod'"):
        store.resolve("latest")
    first = _start(store, "train", 0)
    second = _start(store, "nightly", 5)
    store.finish(first, "failed", datetime(2026, 1, 1, tzinfo=UTC))
    assert store.resolve("latest").id == second
    assert store.resolve(first).id == first
    assert [r.id for r in store.recent(status="failed")] == [first]
    assert [r.id for r in store.recent(status="running", pipeline="nightly")] == [second]
