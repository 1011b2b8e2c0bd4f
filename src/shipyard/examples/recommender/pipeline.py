"""The recommender's training pipeline: order lines → tuned implicit-feedback recommender.

``shipyard run train`` searches popularity, ALS, BPR, item-item cosine and EASE, with recency
weighting for ALS and EASE (the space is in shipyard.yaml), tuned on MAP@10 of a time-based
validation split and tested on each customer's latest purchases; ``shipyard run baseline``
registers the popularity baseline through the same flow. Each step is a plain function you
can call yourself.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from shipyard.batch.recommend import publish_step
from shipyard.pipeline import Pipeline, RunContext, step
from shipyard.recsys.fit import train_recommender
from shipyard.train import TrainedModel


def purchases(order_lines: pa.Table) -> pd.DataFrame:
    """Who bought what and when: one row per order line."""
    return order_lines.select(["customer_id", "product_id", "order_date"]).to_pandas()


def fit(bought: pd.DataFrame, seed: int, exclude_bought: bool, ctx: RunContext) -> TrainedModel:
    """Tuned over the declared space; ``exclude_bought`` hides what a customer already has."""
    return train_recommender("recommender", bought, ctx, exclude_seen=exclude_bought, seed=seed)


def fit_popularity(bought: pd.DataFrame, ctx: RunContext) -> TrainedModel:
    """The baseline every recommender must beat: the most bought products, for everyone."""
    return train_recommender("recommender", bought, ctx, fixed={"model": "popularity"})


def train() -> Pipeline:
    return Pipeline([
        step(purchases, inputs={"order_lines": "clean.order_lines"}, outputs="bought"),
        step(fit, inputs={"bought": "bought", "seed": "params:seed",
                          "exclude_bought": "params:exclude_bought", "ctx": "context"},
             outputs="model"),
    ])


def nightly() -> Pipeline:
    """Fresh recommendations from whatever is in production, every night (see its schedule)."""
    return Pipeline([
        step(publish_step, inputs={"ctx": "context", "top": "params:top"}, outputs="published",
             cache=False),
    ])


def baseline() -> Pipeline:
    return Pipeline([
        step(purchases, inputs={"order_lines": "clean.order_lines"}, outputs="bought"),
        step(fit_popularity, inputs={"bought": "bought", "ctx": "context"}, outputs="model"),
    ])
