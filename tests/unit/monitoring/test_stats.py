"""Planted shifts are found and unshifted columns are not, at 1,000 and at 100,000 rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.config.schema import MonitoringSettings
from shipyard.monitoring.stats import Counts, compare, psi
from shipyard.train.profile import build_profile

SETTINGS = MonitoringSettings()
CATEGORIES = ["a", "b", "c"]


def _sample(rows: int, seed: int, shift: str | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, rows)
    c = rng.choice(CATEGORIES, rows, p=[0.5, 0.3, 0.2]).astype(object)
    if shift == "location":
        x = x + 0.5
    elif shift == "scale":
        x = x * 2
    elif shift == "missing":
        x[rng.random(rows) < 0.3] = np.nan
    elif shift == "new category":
        c[rng.random(rows) < 0.2] = "d"
    return pd.DataFrame({"x": x, "c": c})


def _tests(rows: int, shift: str | None) -> dict[str, bool]:
    """Whether each column drifted, the current sample counted into the reference's bins."""
    profile = build_profile(_sample(rows, seed=1), [0.5])
    current = _sample(rows, seed=2, shift=shift)
    drifted = {}
    for column in profile.columns:
        reference = Counts(np.asarray(column.counts), column.nulls)
        counts, nulls = column.count(pa.array(current[column.name], from_pandas=True))
        drifted[column.name] = compare(reference, Counts(counts, nulls),
                                       column.kind == "numeric", SETTINGS).drifted
    return drifted


@pytest.mark.parametrize("rows", [1_000, 100_000])
@pytest.mark.parametrize(("shift", "column"), [("location", "x"), ("scale", "x"),
                                               ("missing", "x"), ("new category", "c")])
def test_a_planted_shift_is_found_in_its_column_only(rows: int, shift: str, column: str) -> None:
    drifted = _tests(rows, shift)
    assert drifted == {"x": column == "x", "c": column == "c"}


@pytest.mark.parametrize("rows", [1_000, 100_000])
def test_unshifted_columns_are_not_flagged(rows: int) -> None:
    assert _tests(rows, None) == {"x": False, "c": False}


def test_a_tiny_but_significant_shift_does_not_count() -> None:
    # 1,000,000 rows per side: 0.51 vs 0.5 is "significant" but 1% of rows moving is small
    reference = Counts(np.array([500_000, 500_000]))
    current = Counts(np.array([510_000, 490_000]))
    result = compare(reference, current, False, SETTINGS)
    assert result.p_value is not None and result.p_value < SETTINGS.alpha
    assert not result.drifted and result.reason == "stable"


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift() -> None:
    same = psi(np.array([10, 20, 30]), np.array([20, 40, 60]))
    assert same == pytest.approx(0)
    assert psi(np.array([50, 50]), np.array([60, 40])) < psi(np.array([50, 50]), np.array([90, 10]))


def test_a_column_that_became_all_null_drifts_with_no_values_to_compare() -> None:
    result = compare(Counts(np.array([500, 500]), 10), Counts(np.array([0, 0]), 1000), True,
                     SETTINGS)
    assert result.test == "none" and result.drifted and "null rate" in result.reason


SIZES = [1_000, 50_000, 200_000, 1_000_000]


def _nulls(rows: int, rate: float) -> Counts:
    """``rows`` values of a column, ``rate`` of them null, the rest spread over two bins."""
    nulls = round(rows * rate)
    return Counts(np.array([(rows - nulls) // 2, rows - nulls - (rows - nulls) // 2]), nulls)


def _categories(rows: int, shares: list[float]) -> Counts:
    return Counts(np.array([round(rows * s) for s in shares]))


@pytest.mark.parametrize("profile_rows", SIZES)
@pytest.mark.parametrize("window_rows", [1_000, 1_000_000])
def test_the_same_shift_is_found_whatever_the_two_sizes(profile_rows: int,
                                                         window_rows: int) -> None:
    # missing values +10 points, and 2% → 80%; a new category taking 15% of the rows
    for before, after in ((0.02, 0.12), (0.02, 0.80)):
        moved = compare(_nulls(profile_rows, before), _nulls(window_rows, after), True, SETTINGS)
        assert moved.drifted and "null rate" in moved.reason, (before, after, moved)
    new = compare(_categories(profile_rows, [0.5, 0.3, 0.2, 0.0]),
                  _categories(window_rows, [0.425, 0.255, 0.17, 0.15]), False, SETTINGS)
    assert new.drifted and new.effect == pytest.approx(0.15), new
    # and no shift is none, at any pair of sizes
    assert not compare(_nulls(profile_rows, 0.02), _nulls(window_rows, 0.02), True,
                       SETTINGS).drifted
    assert not compare(_categories(profile_rows, [0.5, 0.3, 0.2]),
                       _categories(window_rows, [0.5, 0.3, 0.2]), False, SETTINGS).drifted
