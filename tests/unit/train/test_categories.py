"""The categories a fitted scikit-learn model learnt, read back from it, and the values refused."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder

from shipyard.errors import PipelineError
from shipyard.train.categories import check_categories, known_categories

ROWS = pd.DataFrame({"sex": ["female", "male", "male", None], "pclass": ["1st", "2nd", "3rd", "1st"],
                     "port": ["S", "C", "Q", None], "deck": ["A", "B", "A", "B"],
                     "age": [29.0, 40.0, None, 3.0]})
LABELS = [1, 0, 0, 1]


def fitted(*transformers: tuple[str, object, object]) -> object:
    features = ColumnTransformer([*transformers,
                                  ("numeric", SimpleImputer(), ["age"])], remainder="drop")
    return make_pipeline(features, LogisticRegression()).fit(ROWS, LABELS)


def test_encoders_seeing_the_input_give_its_categories_and_others_are_left_unchecked() -> None:
    model = fitted(
        ("onehot", OneHotEncoder(handle_unknown="ignore"), ["sex", "pclass"]),  # by name
        ("imputed", make_pipeline(SimpleImputer(strategy="most_frequent"),  # after an imputer,
                                  OneHotEncoder(handle_unknown="ignore")), [2]),  # by position
        ("mapped", make_pipeline(FunctionTransformer(lambda x: x), OrdinalEncoder()), ["deck"]))
    assert known_categories(model) == {"sex": ("female", "male"),  # a missing value is no category
                                       "pclass": ("1st", "2nd", "3rd"),
                                       "port": ("C", "Q", "S")}  # deck: seen only after a function


def test_a_model_without_encoders_knows_no_categories() -> None:
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(ROWS[["age"]], LABELS)
    assert known_categories(model) == {}


def test_an_unknown_category_is_refused_naming_rows_column_value_and_the_known_ones() -> None:
    known = known_categories(fitted(("onehot", OneHotEncoder(handle_unknown="ignore"),
                                     ["sex", "pclass"])))
    check_categories(ROWS, known, where="rows.csv")  # the training rows themselves pass
    bad = ROWS.assign(sex=["female", "alien", None, "alien"])
    with pytest.raises(PipelineError) as refused:
        check_categories(bad, known, where="rows.csv")
    assert str(refused.value).startswith(
        "rows.csv: sex: unknown category 'alien'; the model learnt 'female', 'male' for sex "
        "in training (row(s) 2, 4)")
