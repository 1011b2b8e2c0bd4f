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
