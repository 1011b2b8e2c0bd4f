"""Rows to score are checked against the model's signature before the model sees them.

Before, a text value in a number column reached scikit-learn, which failed with an 81-line
traceback naming neither the column nor the row.
"""

from __future__ import annotations

import pandas as pd
import pytest

from shipyard.errors import PipelineError
from shipyard.train.signature import conform

INPUTS = [("sex", "string", True), ("age", "double", False), ("sibsp", "long", False)]


def test_a_text_value_in_a_number_column_names_column_row_value_and_type() -> None:
    rows = pd.DataFrame({"sex": ["male", "female"], "age": ["22", "old"], "sibsp": [0, 1]})
    with pytest.raises(PipelineError, match=r"rows.csv: column 'age', row 2: 'old' is not a "
                                            r"number; titanic v1 takes double values"):
        conform(rows, INPUTS, where="rows.csv", model="titanic v1")


def test_a_fraction_in_an_integer_column_is_refused() -> None:
    rows = pd.DataFrame({"sex": ["male"], "age": [3.0], "sibsp": [0.5]})
    with pytest.raises(PipelineError, match=r"column 'sibsp', row 1: 0.5 is not an integer"):
        conform(rows, INPUTS, where="rows.csv", model="titanic v1")


def test_a_missing_column_is_named_with_what_the_model_takes() -> None:
    rows = pd.DataFrame({"sex": ["male"], "sibsp": [0]})
    with pytest.raises(PipelineError, match=r"rows.csv lacks column\(s\) age; titanic v1 takes "
                                            r"sex \(string\), age \(double\), sibsp \(long\)"):
        conform(rows, INPUTS, where="rows.csv", model="titanic v1")


def test_an_empty_cell_in_a_required_column_is_refused_and_elsewhere_kept() -> None:
    with pytest.raises(PipelineError, match=r"column 'sex' is empty in row 2"):
        conform(pd.DataFrame({"sex": ["male", None], "age": [1.0, 2.0], "sibsp": [0, 0]}),
                INPUTS, where="rows.csv", model="titanic v1")
    kept = conform(pd.DataFrame({"sex": ["male", "female"], "age": ["4", None],
                                 "sibsp": [1, None]}), INPUTS, where="x", model="m")
    assert kept["age"].tolist()[0] == 4.0 and kept["age"].isna().tolist() == [False, True]
    assert kept["sibsp"].isna().tolist() == [False, True]


def test_numbers_in_a_text_column_are_read_as_their_text() -> None:
    kept = conform(pd.DataFrame({"customer_id": [7, 12]}), [("customer_id", "string", True)],
                   where="ids.parquet", model="recommender v1")
    assert kept["customer_id"].tolist() == ["7", "12"]
