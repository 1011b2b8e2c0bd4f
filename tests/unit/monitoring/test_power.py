"""The stated sensitivity of the default thresholds, on counts drawn as the bins would see them.

Each sample is a multinomial draw over the profile's twenty quantile bins of N(0, 1) (plus its
nulls), so thirty seeds cost a few milliseconds: the same counts as binning that many rows,
without the rows. ``benchmarks/drift_power.py`` measures the whole table on real rows.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from shipyard.config import parse_config
from shipyard.config.schema import MonitoringSettings
from shipyard.errors import ConfigError
from shipyard.monitoring.stats import Counts, compare
from shipyard.train.profile import QUANTILE_BINS

SETTINGS = MonitoringSettings()
SEEDS = 30
EDGES = stats.norm.ppf(np.linspace(0, 1, QUANTILE_BINS + 1)[1:-1])
SHARES = np.array([0.4, 0.25, 0.15, 0.12, 0.08])


def _number(rng: np.random.Generator, rows: int, loc: float = 0, scale: float = 1,
            null_rate: float = 0.05) -> Counts:
    """``rows`` draws of N(loc, scale) with ``null_rate`` nulls, counted into the bins."""
    nulls = rng.binomial(rows, null_rate)
    cdf = stats.norm.cdf(EDGES, loc, scale)
    return Counts(rng.multinomial(rows - nulls, np.diff(cdf, prepend=0, append=1)), int(nulls))


def _category(rng: np.random.Generator, rows: int, new: float = 0) -> Counts:
    """Five categories and the bucket of unseen values, which ``new`` of the rows take."""
    return Counts(rng.multinomial(rows, [*(SHARES * (1 - new)), new]))


def _flagged(draw, rows: int, numeric: bool, **shift: float) -> int:  # type: ignore[no-untyped-def]
    """In how many of the seeds a sample with ``shift`` was found drifting from one without."""
    found = 0
    for seed in range(SEEDS):
        rng = np.random.default_rng([seed, rows])
        found += compare(draw(rng, rows), draw(rng, rows, **shift), numeric, SETTINGS).drifted
    return found


@pytest.mark.parametrize("rows", [10_000, 100_000])
@pytest.mark.parametrize("shift", [{"loc": 0.1}, {"scale": 1.2}])
def test_a_tenth_of_a_sd_and_a_fifth_more_spread_are_found_from_10k_rows(
        rows: int, shift: dict[str, float]) -> None:
    assert _flagged(_number, rows, True, **shift) >= (27 if rows == 10_000 else SEEDS)


@pytest.mark.parametrize(("draw", "numeric"), [(_number, True), (_category, False)])
@pytest.mark.parametrize("rows", [1_000, 10_000, 1_000_000])
def test_an_unshifted_column_is_not_flagged_in_30_seeds(draw, numeric: bool,  # type: ignore[no-untyped-def]
                                                        rows: int) -> None:
    assert _flagged(draw, rows, numeric) == 0


def test_shifts_below_what_matters_are_not_flagged_however_many_rows() -> None:
    # significant at 1M rows a side, but 2% of rows moving (0.05 sd: KS D 0.02) is not drift
    assert _flagged(_number, 1_000_000, True, loc=0.05) == 0
    assert _flagged(_category, 1_000_000, False, new=0.01) == 0
    assert _flagged(_number, 1_000_000, True, null_rate=0.055) == 0  # h 0.02


def test_a_new_value_in_5_percent_of_rows_and_5_more_points_of_nulls_are_found() -> None:
    assert _flagged(_category, 10_000, False, new=0.05) == SEEDS
    assert _flagged(_number, 10_000, True, null_rate=0.10) == SEEDS


def test_a_column_can_have_its_own_thresholds() -> None:
    settings = MonitoringSettings(columns={"age": {"min_effect": 0.3, "psi": 1}})
    assert settings.thresholds("age").min_effect == 0.3
    assert settings.thresholds("age").alpha == settings.alpha == SETTINGS.alpha
    assert settings.thresholds("fare") == settings
    rng = np.random.default_rng(0)
    reference, moved = _number(rng, 100_000), _number(rng, 100_000, loc=0.5)
    assert compare(reference, moved, True, settings.thresholds("fare")).drifted
    assert not compare(reference, moved, True, settings.thresholds("age")).drifted


def test_a_misspelled_or_impossible_column_threshold_is_refused_at_load() -> None:
    base = {"project": "shop", "environments": {"dev": {"lake": "lake"}}}
    with pytest.raises(ConfigError, match=r"monitoring\.columns\.age\.min_efect: unknown key"):
        parse_config({**base, "monitoring": {"columns": {"age": {"min_efect": 0.05}}}})
    with pytest.raises(ConfigError, match=r"monitoring\.columns\.age\.alpha"):
        parse_config({**base, "monitoring": {"columns": {"age": {"alpha": 2}}}})
