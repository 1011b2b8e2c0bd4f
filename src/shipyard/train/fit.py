"""Tune, refit the best configuration, evaluate once on the test split: a ``TrainedModel``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.train.metrics import classification_metrics
from shipyard.train.profile import build_profile
from shipyard.train.rows import RowKeys, keys_of
from shipyard.train.split import Split
from shipyard.train.trained import TrainedModel
from shipyard.train.tune import Build, tune

if TYPE_CHECKING:
    from shipyard.pipeline.step import RunContext

__all__ = ["train_classifier"]


def train_classifier(name: str, build: Build, data: Split, ctx: RunContext, *,
                     seed: int = 0) -> TrainedModel:
    """Train the binary classifier ``name`` the way the registry expects it.

    Args:
        name: Registered model name (declared under ``models:``).
        build: ``params → unfitted estimator`` with ``predict_proba``; the search space comes
            from the pipeline's ``tuning`` section.
        data: The split; the best configuration is refit on train + validation.
        ctx: The step's run context (tuning settings, MLflow parent run).
        seed: Seed of the search.

    Returns:
        The fitted model with its test metrics (accuracy, roc_auc, f1, log_loss), the test
        rows, which a later comparison with the production model reuses, the keys of the rows
        it was fitted and tested on (when the split left them: :mod:`shipyard.train.rows`),
        which tell that comparison which rows neither version has seen, and the reference
        profile of the rows it was fitted on, which monitoring compares serving inputs with.
    """
    tuned = tune(build, data, ctx, seed=seed)
    model = build(tuned.params).fit(data.X_fit, data.y_fit)
    scores = model.predict_proba(data.X_test)[:, 1]
    metrics = classification_metrics(data.y_test.to_numpy(), scores)
    ctx.log_metrics({f"test_{k}": v for k, v in metrics.items()})
    if tuned.trials and ctx.tuning is not None:
        ctx.log_metrics({f"best_val_{ctx.tuning.metric}": tuned.score, "trials": tuned.trials})
    fit_keys, test_keys = keys_of(data.X_fit), keys_of(data.X_test)
    rows = None if fit_keys is None or test_keys is None else RowKeys(fit_keys, test_keys)
    test_X, test_y = data.X_test.reset_index(drop=True), data.y_test.reset_index(drop=True)
    return TrainedModel(name=name, model=model, metrics=metrics, params=tuned.params,
                        input_example=test_X.head(5), test_X=test_X, test_y=test_y,
                        profile=build_profile(data.X_fit.reset_index(drop=True), scores),
                        rows=rows)
