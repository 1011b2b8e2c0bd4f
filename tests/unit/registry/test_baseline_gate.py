"""Gates relative to the popularity baseline scored on the same rows, shown with both numbers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shipyard.config.schema import ModelConfig
from shipyard.registry import check_gate


def test_a_relative_gate_compares_with_the_baseline_on_the_same_rows() -> None:
    gate = {"map_at_10": ">= 1.05 * popularity"}
    (won,) = check_gate(gate, {"map_at_10": 0.279, "popularity.map_at_10": 0.155})
    assert won.passed and won.bound == pytest.approx(0.16275)
    assert str(won) == ("map_at_10 0.2790 meets >= 1.05 × popularity "
                        "(popularity 0.1550, bound 0.1628)")
    (lost,) = check_gate(gate, {"map_at_10": 0.160, "popularity.map_at_10": 0.155})
    assert not lost.passed and "fails >= 1.05 × popularity" in str(lost)


def test_a_relative_gate_without_a_baseline_score_fails_and_says_so() -> None:
    (check,) = check_gate({"map_at_10": ">= 1.05 × popularity"}, {"map_at_10": 0.3})
    assert not check.passed and "no popularity score on the same rows" in str(check)


def test_the_config_takes_a_relative_threshold_and_refuses_another_baseline() -> None:
    ModelConfig(pipeline="train", primary_metric="map_at_10",
                gate={"map_at_10": ">= 1.05 * popularity"})
    with pytest.raises(ValidationError, match=r"1.05 \* popularity"):
        ModelConfig(pipeline="train", primary_metric="map_at_10",
                    gate={"map_at_10": ">= 1.05 * random"})


def test_a_regressors_gate_is_relative_to_the_mean_baseline_and_lower_is_better() -> None:
    gate = {"rmse": "<= 0.9 * mean", "r2": ">= 0.5"}
    metrics = {"rmse": 41_000.0, "mean.rmse": 80_000.0, "r2": 0.74, "mean.r2": -0.01}
    won, r2 = check_gate(gate, metrics)
    assert won.passed and won.bound == pytest.approx(72_000.0) and r2.passed
    assert str(won) == "rmse 41000.0000 meets <= 0.9 × mean (mean 80000.0000, bound 72000.0000)"
    (lost,) = check_gate({"rmse": "<= 0.9 * mean"}, {"rmse": 75_000.0, "mean.rmse": 80_000.0})
    assert not lost.passed and "fails <= 0.9 × mean" in str(lost)
    (missing,) = check_gate({"mae": "< 1 * mean"}, {"mae": 3.0})
    assert not missing.passed and "no mean score on the same rows" in str(missing)


def test_the_config_takes_each_baseline_for_its_own_kind_of_model_only() -> None:
    ModelConfig(pipeline="train", primary_metric="rmse", gate={"rmse": "< 1.0 * mean"})
    with pytest.raises(ValidationError, match=r"rmse: '>= 1.05 \* popularity' is a multiple "
                                              r"of the popularity baseline, which only a "
                                              r"recommender is scored against; a regressor's "
                                              r"threshold is a number or a multiple of \* mean"):
        ModelConfig(pipeline="train", primary_metric="rmse",
                    gate={"rmse": ">= 1.05 * popularity"})
    with pytest.raises(ValidationError, match=r"only a regressor is scored against; a "
                                              r"classifier's threshold is a number \["):
        ModelConfig(pipeline="train", primary_metric="roc_auc", gate={"roc_auc": ">= 1 * mean"})
    with pytest.raises(ValidationError, match=r"roc_auc \(classifier\), rmse \(regressor\)"):
        ModelConfig(pipeline="train", primary_metric="roc_auc", gate={"rmse": "< 10"})
