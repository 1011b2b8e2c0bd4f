"""Hyper-parameter search with Optuna over the space declared in ``shipyard.yaml``.

Each trial fits on the train split and is scored on the validation split; each becomes a nested
MLflow run under the pipeline run, so the UI shows what was tried. The sampler is seeded, so a
resumed or repeated run tries the same configurations and refits the same model. With a
``storage`` URL (PostgreSQL) the study lives in that database, named after the project, pipeline
and run, so ``workers`` threads (and any other process that loads the study) share its trials.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.config.schema import ParamRange, TuningConfig
from shipyard.errors import PipelineError
from shipyard.train.metrics import GREATER_IS_BETTER, METRICS, Task, metric_value
from shipyard.train.outputs import outputs
from shipyard.train.split import Split

if TYPE_CHECKING:
    import optuna

    from shipyard.pipeline.step import RunContext

__all__ = ["Tuned", "sample_params", "search", "tune"]

Build = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Tuned:
    """The best configuration found and its validation score."""

    params: dict[str, Any]
    score: float
    trials: int


def sample_params(trial: optuna.trial.BaseTrial, space: Mapping[str, ParamRange]) -> dict[str, Any]:
    """Draw one configuration; a parameter with ``when`` is drawn only if its condition holds
    (``{model: ease}``, or ``{model: [als, ease]}`` for any of several values)."""
    params: dict[str, Any] = {}
    for name, dim in space.items():
        if not all(params.get(key) in (value if isinstance(value, list) else [value])
                   for key, value in dim.when.items()):
            continue
        if dim.choices is not None:
            params[name] = trial.suggest_categorical(name, dim.choices)
            continue
        assert dim.low is not None and dim.high is not None  # ParamRange requires them without choices
        if dim.integer:
            params[name] = trial.suggest_int(name, int(dim.low), int(dim.high), log=dim.log)
        else:
            params[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log)
    return params


class _TrialLog:
    """Nested MLflow runs for trials, written with the client so nothing global changes."""

    def __init__(self, ctx: RunContext) -> None:
        self.parent = ctx.tracking_run_id
        if self.parent is None:
            return
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=ctx.project.tracking_uri)
        self.experiment_id = self.client.get_run(self.parent).info.experiment_id
        self.step = ctx.step

    def log(self, number: int, params: dict[str, Any], metric: str, score: float) -> None:
        if self.parent is None:
            return
        from mlflow.entities import Metric, Param
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        run = self.client.create_run(
            self.experiment_id, run_name=f"{self.step} trial {number}",
            tags={MLFLOW_PARENT_RUN_ID: self.parent, "shipyard.trial": str(number)})
        self.client.log_batch(run.info.run_id,
                              metrics=[Metric(f"val_{metric}", score, 0, 0)],
                              params=[Param(k, str(v)) for k, v in params.items()])
        self.client.set_terminated(run.info.run_id)


def search(score: Callable[[dict[str, Any]], float], ctx: RunContext, *,
           seed: int = 0) -> Tuned:
    """Search the declared space for the parameters that ``score`` rates best.

    ``score(params)`` fits a candidate and returns its validation metric (``tuning.metric``).
    Without a ``tuning`` section nothing is searched: the parameters are empty.

    Raises:
        PipelineError: every trial failed.
    """
    tuning: TuningConfig | None = ctx.tuning
    if tuning is None:
        return Tuned(params={}, score=float("nan"), trials=0)
    import optuna  # here: servers import this package (shipyard.train) and never tune

    log = _TrialLog(ctx)

    def objective(trial: optuna.Trial) -> float:
        params = sample_params(trial, tuning.space)
        value = score(params)
        log.log(trial.number, params, tuning.metric, value)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=f"{ctx.project.config.project}.{ctx.pipeline}.{ctx.run_id}",
        storage=tuning.storage, load_if_exists=True, direction=tuning.direction,
        sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=tuning.trials, timeout=tuning.timeout_s,
                   n_jobs=tuning.workers)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise PipelineError(f"pipeline {ctx.pipeline!r}: no tuning trial completed")
    best = study.best_trial
    return Tuned(params=sample_params(optuna.trial.FixedTrial(best.params), tuning.space),
                 score=study.best_value, trials=len(done))


def tune(build: Build, data: Split, ctx: RunContext, *, seed: int = 0,
         task: Task = "classification") -> Tuned:
    """Search for the model ``build(params)`` (unfitted: a classifier, or a regressor for
    ``task="regression"``) that scores best on validation.

    Raises:
        PipelineError: the tuning metric is not one the ``task`` reports, or every trial failed.
    """
    if ctx.tuning is None:
        return search(lambda params: float("nan"), ctx, seed=seed)
    metric = ctx.tuning.metric
    if metric not in METRICS[task]:
        raise PipelineError(f"pipeline {ctx.pipeline!r}: tuning.metric: {metric!r} is not "
                            f"a {task} metric; expected one of {', '.join(METRICS[task])}")
    wanted = "maximize" if GREATER_IS_BETTER[metric] else "minimize"
    if ctx.tuning.direction != wanted:  # else the search would keep the worst configuration
        raise PipelineError(f"pipeline {ctx.pipeline!r}: tuning.direction is "
                            f"{ctx.tuning.direction} but {metric} is "
                            f"{'higher' if GREATER_IS_BETTER[metric] else 'lower'}-is-better; "
                            f"set direction: {wanted}")
    y_val = data.y_val.to_numpy()

    def score(params: dict[str, Any]) -> float:
        model = build(params).fit(data.X_train, data.y_train)
        return metric_value(metric, y_val, outputs(model, data.X_val, task))

    return search(score, ctx, seed=seed)
