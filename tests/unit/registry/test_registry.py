"""Registry pieces without MLflow: gates and the bootstrap comparison."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shipyard.registry import check_gate, compare_scores


def test_a_gate_checks_every_threshold_and_a_missing_metric_fails() -> None:
    checks = check_gate({"accuracy": ">= 0.75", "log_loss": "< 0.5", "f1": "> 0.6"},
                        {"accuracy": 0.75, "log_loss": 0.52})
    assert [(c.metric, c.passed) for c in checks] == [
        ("accuracy", True), ("log_loss", False), ("f1", False)]
    assert str(checks[1]) == "log_loss 0.5200 fails < 0.5"
    assert str(checks[2]) == "f1 missing fails > 0.6"


def labels_and_scores(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    good = np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(scale=0.2, size=n), 0.01, 0.99)
    noise = rng.random(n)
    return y, good, noise


def test_a_clearly_better_challenger_wins_with_an_interval_above_zero() -> None:
    y, good, noise = labels_and_scores()
    c = compare_scores("m", 2, 1, y, good, noise, primary_metric="roc_auc")
    assert c.challenger_wins and c.primary.verdict == "better"
    for m in c.metrics:
        assert m.ci_low > 0, m  # log loss too: a fall in log loss counts as a gain


def test_the_same_model_is_never_a_win_and_a_worse_one_loses() -> None:
    y, good, noise = labels_and_scores()
    same = compare_scores("m", 2, 1, y, good, good, primary_metric="accuracy")
    assert not same.challenger_wins and same.primary.ci_low == same.primary.ci_high == 0
    worse = compare_scores("m", 2, 1, y, noise, good, primary_metric="roc_auc")
    assert not worse.challenger_wins and worse.primary.verdict == "worse"


def test_the_interval_covers_the_difference_and_is_reproducible() -> None:
    y, good, _ = labels_and_scores()
    rng = np.random.default_rng(5)
    near = np.clip(good + rng.normal(scale=0.1, size=len(y)), 0, 1)
    first = compare_scores("m", 3, 2, y, near, good, primary_metric="f1")
    again = compare_scores("m", 3, 2, y, near, good, primary_metric="f1")
    assert first.metrics == again.metrics
    for m in first.metrics:
        assert m.ci_low <= m.improvement <= m.ci_high
    saved = json.loads(first.to_json())
    assert saved["challenger"] == 3 and saved["champion"] == 2 and saved["rows"] == len(y)
    assert saved["challenger_wins"] is first.challenger_wins


@pytest.mark.parametrize("metric", ["accuracy", "roc_auc", "f1", "log_loss"])
def test_every_metric_can_be_primary(metric: str) -> None:
    y, good, noise = labels_and_scores()
    assert compare_scores("m", 2, 1, y, good, noise, primary_metric=metric).primary.metric == metric


def targets_and_values(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.normal(300, 80, n)
    return y, y + rng.normal(0, 20, n), y + rng.normal(0, 60, n)


@pytest.mark.parametrize("metric", ["rmse", "mae", "r2"])
def test_a_regressor_with_smaller_errors_wins_on_every_metric(metric: str) -> None:
    y, close, far = targets_and_values()
    better = compare_scores("m", 2, 1, y, close, far, primary_metric=metric, task="regression")
    assert [m.metric for m in better.metrics] == ["rmse", "mae", "r2"]
    assert better.challenger_wins and better.primary.verdict == "better"
    for m in better.metrics:  # rmse and mae falling are gains: improvement is signed so
        assert m.ci_low > 0 and m.improvement > 0, m
    rmse = better.metrics[0]
    assert rmse.challenger < rmse.champion and rmse.improvement == pytest.approx(
        rmse.champion - rmse.challenger)
    worse = compare_scores("m", 2, 1, y, far, close, primary_metric=metric, task="regression")
    assert not worse.challenger_wins and worse.primary.verdict == "worse"
