"""A recorded run's graph is read back from its steps' cache keys alone."""

from __future__ import annotations

from datetime import UTC, datetime

from shipyard.pipeline.cache import CacheKey
from shipyard.pipeline.graph import step_graph, step_key
from shipyard.tracking.records import RunRecord, StepRecord


def _step(position: int, name: str, status: str, key: CacheKey | None) -> StepRecord:
    return StepRecord(run_id="r", position=position, step=name, status=status, started_at=None,
                      finished_at=None, duration_s=None, fingerprint=None,
                      cache_key=key.encode() if key else None, reason="", reused_from=None,
                      outputs={}, error=None, traceback=None, mlflow_run_id=None)


def _run(*steps: StepRecord) -> RunRecord:
    return RunRecord(id="r", pipeline="p", status="succeeded", started_at=datetime.now(UTC),
                     finished_at=None, duration_s=None, params={}, executor="local", env="dev",
                     git_commit=None, git_dirty=None, data_versions={}, smoke=False, sample=None,
                     no_cache=False, resumed_from=None, error=None, traceback=None,
                     mlflow_run_id=None, tracking_uri=None, snapshot_path=None, environment={},
                     host=None, pid=None, run_by=None, steps=steps)


def test_edges_follow_outputs_and_lake_reads_and_columns_follow_depth() -> None:
    load = CacheKey("load", {}, {}, {}, {"clean.orders": "3"}, outputs=("rows",))
    split = CacheKey("split", {}, {"seed": 1}, {"rows": "f1"}, {}, outputs=("train", "test"))
    fit = CacheKey("fit", {}, {}, {"train": "f2"}, {}, outputs=("model",))
    score = CacheKey("score", {}, {}, {"model": "f3", "test": "f2"}, {"clean.orders": "3"},
                     outputs=("metrics",))
    graph = step_graph(_run(_step(0, "load", "reused", load), _step(1, "split", "succeeded", split),
                            _step(2, "fit", "succeeded", fit), _step(3, "score", "failed", score),
                            _step(4, "never", "pending", None)))
    edges = {(e.source, e.target, e.label) for e in graph.edges}
    assert edges == {("table:clean.orders", "step:load", "v3"), ("step:load", "step:split", "rows"),
                     ("step:split", "step:fit", "train"), ("step:fit", "step:score", "model"),
                     ("step:split", "step:score", "test"),
                     ("table:clean.orders", "step:score", "v3")}
    column = {n.id: n.column for n in graph.nodes}
    assert column == {"table:clean.orders": 0, "step:load": 1, "step:split": 2, "step:fit": 3,
                      "step:score": 4, "step:never": 1}
    assert {n.id: n.status for n in graph.nodes}["step:score"] == "failed"
    assert graph.columns == 5 and graph.rows == 2  # "never" shares load's column


def test_a_step_without_a_readable_key_has_no_edges() -> None:
    broken = _step(0, "old", "succeeded", None)
    broken = StepRecord(**{**broken.__dict__, "cache_key": "{not json"})
    assert step_key(broken) is None
    graph = step_graph(_run(broken))
    assert graph.edges == [] and [n.column for n in graph.nodes] == [0]
