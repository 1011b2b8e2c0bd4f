"""The registry as the Models page reads it: versions with aliases, gate and metrics in two
registry calls, and the comparison report read back as it was saved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from shipyard.errors import NotFoundError, StoreUnreachable
from shipyard.project import Project
from shipyard.registry import Registry, compare_scores, save_comparison
from shipyard.registry.client import GATE, GATE_CHECKS, REGISTRATION, STATUS
from shipyard.registry.compare import Comparison
from shipyard.registry.versions import gate_outcome, saved_comparison, summarize, summarize_all
from tests.e2e.server import free_port

YAML = """\
project: p
environments: {dev: {lake: lake}}
pipelines: {train: {function: "jobs:train"}}
models: {titanic: {pipeline: train, primary_metric: roc_auc}}
"""


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    (tmp_path / "shipyard.yaml").write_text(YAML)
    return Registry.of(Project.open(tmp_path))


def register(registry: Registry, name: str, tags: dict[str, str]) -> int:
    """A version with ``tags`` (no artifacts: the summary reads tags and aliases only)."""
    client = registry.client
    if name not in registry.names():
        client.create_registered_model(name)
    source = registry.project.root / "artifacts" / name
    source.mkdir(parents=True, exist_ok=True)
    return int(client.create_model_version(name, source.as_uri(), tags=tags).version)


def test_each_version_has_its_aliases_gate_and_metrics_newest_first(registry: Registry) -> None:
    register(registry, "titanic", {STATUS: "production", GATE: "passed", REGISTRATION: "compared",
                                   GATE_CHECKS: "roc_auc 0.81 meets >= 0.75",
                                   "metric.roc_auc": "0.812", "metric.accuracy": "0.780",
                                   "shipyard.run_id": "train-1"})
    register(registry, "titanic", {STATUS: "rejected", GATE: "failed", REGISTRATION: "rejected",
                                   "metric.roc_auc": "0.6", "metric.log_loss": "bad"})
    register(registry, "titanic", {STATUS: "staging", GATE: "passed", REGISTRATION: "compared",
                                   "metric.roc_auc": "0.83"})
    registry.set_alias("titanic", "production", 1)
    registry.set_alias("titanic", "staging", 3)
    registry.set_alias("titanic", "shadow", 3)

    summary = summarize(registry, "titanic")

    assert [v.version for v in summary.versions] == [3, 2, 1]
    assert (summary.production, summary.staging) == (1, 3)
    newest, rejected, first = summary.versions
    assert newest.aliases == ("shadow", "staging") and first.aliases == ("production",)
    assert [v.gate for v in summary.versions] == ["passed", "failed", "passed"]
    assert first.gate_checks == "roc_auc 0.81 meets >= 0.75" and first.run_id == "train-1"
    assert first.metrics == {"roc_auc": 0.812, "accuracy": 0.78}
    assert rejected.metrics == {"roc_auc": 0.6}  # a hand-set tag that is no number is left out
    assert summary.metrics == ["roc_auc", "accuracy"]  # the primary metric first
    # only a passed gate that is not production already may be promoted without --force
    assert [v.promotable for v in summary.versions] == [True, False, False]
    assert summary.version(2) is rejected and summary.version(9) is None
    assert [m.name for m in summarize_all(registry)] == ["titanic"]


def test_an_unknown_model_is_an_error_naming_the_known_ones(registry: Registry) -> None:
    register(registry, "titanic", {})
    with pytest.raises(NotFoundError, match="titanic"):
        summarize(registry, "titanc")


@pytest.mark.parametrize(("tags", "gate"), [
    ({GATE: "passed", REGISTRATION: "compared"}, "passed"),
    ({GATE: "failed", REGISTRATION: "rejected"}, "failed"),
    ({REGISTRATION: "registered"}, "not run"),          # killed before the gate
    ({STATUS: "production"}, "passed"),                  # registered before the gate was tagged
    ({STATUS: "rejected"}, "failed"),
])
def test_the_gate_is_passed_failed_or_not_run(tags: dict[str, str], gate: str) -> None:
    assert gate_outcome(tags) == gate


def test_a_saved_comparison_reads_back_as_it_was_made(registry: Registry) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    made = compare_scores("titanic", 3, 1, y, np.clip(y * 0.6 + rng.random(300) * 0.4, 0, 1),
                          rng.random(300), primary_metric="roc_auc", resamples=200)
    save_comparison(registry.project, made)

    read = saved_comparison(registry.project, "titanic", 3, 1)

    assert read == made and read is not None and read.challenger_wins == made.challenger_wins
    assert saved_comparison(registry.project, "titanic", 1, 3) is None  # never compared
    assert Comparison.file_name(3, 1) == made.report_name == "compare-v3-vs-v1.json"


def test_a_registry_that_stops_answering_is_not_read_as_a_missing_version(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    register(registry, "titanic", {STATUS: "registered"})
    assert registry.alias("titanic", "production") is None  # not there: None, as before
    with pytest.raises(NotFoundError, match="no version 7"):
        registry.get("titanic", 7)
    # the same questions while the registry's server is down
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    down = f"http://127.0.0.1:{free_port()}"
    registry.client = MlflowClient(tracking_uri=down, registry_uri=down)
    for ask in (lambda: registry.alias("titanic", "production"),
                lambda: registry.get("titanic", 1)):
        with pytest.raises(StoreUnreachable, match="model registry: cannot reach"):
            ask()
