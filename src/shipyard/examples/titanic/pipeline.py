"""The Titanic training pipeline: curated passengers → split → tuned classifier.

Each step is a plain function (call them yourself to try them); ``train`` wires them together
for ``shipyard run train``. The model is a scikit-learn Pipeline, so imputation and encoding
travel with it to the registry and to serving.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from shipyard.pipeline import Pipeline, RunContext, step
from shipyard.train import Split, TrainedModel, split, train_classifier

TARGET = "survived"
CATEGORICAL = ["pclass", "sex"]
NUMERIC = ["age", "sibsp", "parch"]


def prepare(passengers: pa.Table) -> pd.DataFrame:
    """Curated rows as a frame with the model's features and label."""
    frame = passengers.to_pandas()
    return frame[["passenger_id", *CATEGORICAL, *NUMERIC, TARGET]]


def split_passengers(data: pd.DataFrame, test_size: float, validation_size: float,
                     seed: int) -> dict[str, pd.DataFrame]:
    """Stratified train / validation / test parts; the id is not a feature."""
    parts = split(data, TARGET, test_size=test_size, validation_size=validation_size,
                  seed=seed, drop=["passenger_id"])
    return parts.frames(TARGET)


def build_model(params: dict[str, Any], seed: int = 0) -> SkPipeline:
    """An unfitted model for one configuration of the search space."""
    kind = params.get("model", "logistic_regression")
    scale = kind == "logistic_regression"
    numeric = make_pipeline(SimpleImputer(strategy="median"),
                            *([StandardScaler()] if scale else []))
    features = ColumnTransformer([
        ("numeric", numeric, NUMERIC),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
    ])
    if kind == "logistic_regression":
        classifier = LogisticRegression(C=params.get("C", 1.0), max_iter=1000)
    else:
        classifier = GradientBoostingClassifier(
            n_estimators=params.get("n_estimators", 100), max_depth=params.get("max_depth", 3),
            learning_rate=params.get("learning_rate", 0.1), random_state=seed)
    return SkPipeline([("features", features), ("classifier", classifier)])


def fit(parts: dict[str, pd.DataFrame], seed: int, ctx: RunContext) -> TrainedModel:
    """Tune over the declared space, refit the best on train + validation, test once."""
    data = Split.from_frames(parts, TARGET)
    return train_classifier("titanic", lambda p: build_model(p, seed), data, ctx, seed=seed)


def train() -> Pipeline:
    return Pipeline([
        step(prepare, inputs={"passengers": "curated.training_set"}, outputs="data"),
        step(split_passengers, inputs={"data": "data", "test_size": "params:test_size",
                                       "validation_size": "params:validation_size",
                                       "seed": "params:seed"}, outputs="parts"),
        step(fit, inputs={"parts": "parts", "seed": "params:seed", "ctx": "context"},
             outputs="model"),
    ])
