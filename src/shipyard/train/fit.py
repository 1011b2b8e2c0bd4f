"""Tune, refit the best configuration, evaluate once on the test split: a ``TrainedModel``.

A classifier and a regressor are trained alike; they differ in the one number they answer per
row (:mod:`shipyard.train.outputs`), the metrics computed from it, and a regressor's baseline:
the training rows' mean target predicted for every test row, whose scores are kept beside the
model's (``mean.rmse``…) for a gate such as ``rmse: "<= 0.9 * mean"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shipyard.errors import PipelineError
from shipyard.train.metrics import Task, task_metrics
from shipyard.train.outputs import outputs
from shipyard.train.profile import build_profile
from shipyard.train.rows import RowKeys, keys_of
from shipyard.train.split import Split
from shipyard.train.trained import TrainedModel
from shipyard.train.tune import Build, tune

if TYPE_CHECKING:
    from shipyard.pipeline.step import RunContext

__all__ = ["MEAN", "train_classifier", "train_regressor"]

MEAN = "mean"
"""The regressor's baseline: its scores are the metrics ``mean.<metric>``."""


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
    return _train(name, build, data, ctx, seed=seed, task="classification")


def train_regressor(name: str, build: Build, data: Split, ctx: RunContext, *,
                    seed: int = 0) -> TrainedModel:
    """Train the regressor ``name`` (a numeric target) the way the registry expects it.

    As :func:`train_classifier`, with ``build`` giving an estimator whose ``predict`` is the
    answer; the test metrics are rmse, mae and r2, and the same three of the mean baseline
    (``mean.rmse``…) on the same test rows.

    Raises:
        PipelineError: the target is not numeric.
    """
    if not pd.api.types.is_numeric_dtype(data.y_fit) or pd.api.types.is_bool_dtype(data.y_fit):
        raise PipelineError(f"model {name!r}: a regressor's target must be numeric; "
                            f"{data.y_fit.name!r} is {data.y_fit.dtype}. Train a classifier "
                            f"on it, or cast it in the table's clean.types")
    return _train(name, build, data, ctx, seed=seed, task="regression")


def _train(name: str, build: Build, data: Split, ctx: RunContext, *, seed: int,
           task: Task) -> TrainedModel:
    tuned = tune(build, data, ctx, seed=seed, task=task)
    model = build(tuned.params).fit(data.X_fit, data.y_fit)
    scores = outputs(model, data.X_test, task)
    y_test = data.y_test.to_numpy()
    metrics = task_metrics(task, y_test, scores)
    if task == "regression":
        mean = np.full(len(y_test), float(np.mean(data.y_fit.to_numpy(dtype=float))))
        metrics |= {f"{MEAN}.{k}": v for k, v in task_metrics(task, y_test, mean).items()}
    ctx.log_metrics({f"test_{k}": v for k, v in metrics.items()})
    if tuned.trials and ctx.tuning is not None:
        ctx.log_metrics({f"best_val_{ctx.tuning.metric}": tuned.score, "trials": tuned.trials})
    fit_keys, test_keys = keys_of(data.X_fit), keys_of(data.X_test)
    rows = None if fit_keys is None or test_keys is None else RowKeys(fit_keys, test_keys)
    test_X, test_y = data.X_test.reset_index(drop=True), data.y_test.reset_index(drop=True)
    return TrainedModel(name=name, model=model, metrics=metrics, params=tuned.params,
                        input_example=test_X.head(5), test_X=test_X, test_y=test_y, task=task,
                        profile=build_profile(data.X_fit.reset_index(drop=True), scores,
                                              task=task),
                        rows=rows)
