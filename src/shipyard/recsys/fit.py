"""Train a recommender the way the registry expects it: tuned, refit, tested on later data.

The held-out test interactions are each customer's latest 20%; tuning splits the remaining
history again by time (validation = the latest 20% of it), so no configuration is chosen on
the rows it is finally tested on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from shipyard.recsys.data import Interactions, time_split
from shipyard.recsys.metrics import per_user_metrics, ranking_metrics
from shipyard.recsys.model import RecModel, fit_recommender
from shipyard.train.rows import RowKeys, row_keys
from shipyard.train.trained import TrainedModel
from shipyard.train.tune import search

if TYPE_CHECKING:
    from shipyard.pipeline.step import RunContext

__all__ = ["evaluate", "train_recommender"]


def evaluate(model: RecModel, test: pd.DataFrame, user: str, item: str,
             k: int = 10) -> pd.DataFrame:
    """Per-user metrics of ``model`` on held-out (user, item) rows."""
    truth = Interactions.from_frame(test, user, item, users=model.users, items=model.items)
    return per_user_metrics(model, truth.matrix, k)


def _fit(params: dict[str, Any], data: Interactions, seed: int, exclude_seen: bool) -> RecModel:
    settings = {k: v for k, v in params.items() if k != "model"}
    model = fit_recommender(params.get("model", "popularity"), settings, data, seed=seed)
    model.params["exclude_seen"] = exclude_seen
    return model


def train_recommender(name: str, interactions: pd.DataFrame, ctx: RunContext, *,
                      user: str = "customer_id", item: str = "product_id",
                      time: str = "order_date", k: int = 10, test_fraction: float = 0.2,
                      exclude_seen: bool = False, seed: int = 0,
                      fixed: dict[str, Any] | None = None) -> TrainedModel:
    """Tune over the declared space (``model`` chooses popularity, als, bpr, cosine or ease;
    ``half_life_days`` weights ALS's and EASE's interactions by recency), refit the best on all
    history before the test rows, and evaluate MAP@K, NDCG@K, precision@K and
    AUC on them, beside the popularity baseline's on the same rows (metrics
    ``popularity.<name>``, which a gate ``">= 1.05 * popularity"`` reads). ``fixed`` skips the
    search (a baseline with given parameters)."""
    history, test = time_split(interactions, user, time, test_fraction)
    if fixed is None:
        inner, validation = time_split(history, user, time, test_fraction)
        train_part = Interactions.from_frame(inner, user, item, time=time)

        def score(params: dict[str, Any]) -> float:
            model = _fit(params, train_part, seed, exclude_seen)
            values = evaluate(model, validation, user, item, k)["map_at_k"]
            return float(values.mean()) if len(values) else 0.0

        tuned = search(score, ctx, seed=seed)
        params = tuned.params
        if tuned.trials:
            ctx.log_metrics({f"best_val_map_at_{k}": tuned.score, "trials": tuned.trials})
    else:
        params = dict(fixed)
    full = Interactions.from_frame(history, user, item, time=time)
    model = _fit(params, full, seed, exclude_seen)
    metrics = ranking_metrics(evaluate(model, test, user, item, k), k)
    popular = _fit({"model": "popularity"}, full, seed, exclude_seen)
    metrics.update({f"popularity.{key}": value for key, value in
                    ranking_metrics(evaluate(popular, test, user, item, k), k).items()})
    ctx.log_metrics({f"test_{key}": value for key, value in metrics.items()})
    held_out = test[[user, item]].astype(str).reset_index(drop=True)
    rows = RowKeys(fit=row_keys(history[[user, item, time]]).to_numpy(),
                   test=row_keys(test[[user, item, time]]).to_numpy())
    return TrainedModel(name=name, model=model, metrics=metrics,
                        params={**params, "exclude_seen": exclude_seen, "k": k},
                        input_example=pd.DataFrame({user: model.users[:3]}), test_X=held_out,
                        test_y=None, task="ranking", flavor="recommender",
                        tags={"shipyard.recsys.user": user, "shipyard.recsys.item": item},
                        rows=rows)
