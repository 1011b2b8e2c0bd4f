"""The reference profile: counts over fixed bins that serving rows are counted into alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from shipyard.train.profile import OTHER, OUTPUT_EDGES, ReferenceProfile, build_profile


def _frame(rows: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    age = rng.normal(30, 10, rows)
    age[:100] = np.nan
    return pd.DataFrame({"age": age, "sibsp": rng.integers(0, 3, rows),
                         "sex": rng.choice(["female", "male"], rows),
                         "member": rng.choice([True, False], rows)})


def test_columns_are_profiled_by_kind_with_nulls_and_all_rows_counted() -> None:
    profile = build_profile(_frame(), np.linspace(0, 1, 200))
    age, sibsp, sex, member = profile.columns
    assert (age.kind, age.nulls, sum(age.counts)) == ("numeric", 100, 900)
    assert len(age.counts) == len(age.edges or []) + 1 > 10  # quantile bins
    assert sibsp.kind == "numeric" and sum(sibsp.counts) == 1000
    assert sex.kind == "categorical" and sex.categories == ["female", "male"]
    assert sex.labels[-1] == OTHER and sex.counts[-1] == 0
    assert member.categories == ["false", "true"]  # as serving's JSON spells them
    assert profile.output is not None and profile.output.edges == OUTPUT_EDGES
    assert sum(profile.output.counts) == 200


def test_serving_values_are_counted_into_the_reference_bins() -> None:
    profile = build_profile(_frame(), [0.5])
    counts, nulls = profile.column("sex").count(pa.array(["male", "male", "other", None]))
    assert counts.tolist() == [0, 2, 1] and nulls == 1  # an unseen value goes to <other>
    age = profile.column("age")
    counts, nulls = age.count(pa.array([-1e9, 1e9, None, float("nan")]))
    assert counts[0] == 1 and counts[-1] == 1 and counts.sum() == 2 and nulls == 2


def test_the_profile_survives_json() -> None:
    profile = build_profile(_frame(), [0.1, 0.9])
    assert ReferenceProfile.from_json(profile.to_json()) == profile
