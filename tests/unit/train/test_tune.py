"""Optuna search over the declared space: conditional parameters, repeatability, shared storage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from shipyard.config.schema import TuningConfig
from shipyard.errors import ConfigError
from shipyard.pipeline import RunContext
from shipyard.project import Project
from shipyard.train import split, tune

SPACE = {
    "model": {"choices": ["logistic_regression", "tree"]},
    "C": {"low": 0.01, "high": 10, "log": True, "when": {"model": "logistic_regression"}},
    "max_depth": {"low": 1, "high": 6, "integer": True, "when": {"model": "tree"}},
}


def build(params: dict) -> object:
    if params["model"] == "tree":
        return DecisionTreeClassifier(max_depth=params["max_depth"], random_state=0)
    return LogisticRegression(C=params["C"])


def context(tmp_path: Path, **tuning: object) -> RunContext:
    (tmp_path / "shipyard.yaml").write_text("project: tunes\nenvironments:\n  dev: {lake: lake}\n")
    config = TuningConfig(metric="roc_auc", space=SPACE, **tuning)
    return RunContext(run_id="run-1", pipeline="train", step="fit",
                      project=Project.open(tmp_path, "dev"), env="dev", params={}, smoke=False,
                      sample=None, tuning=config, tracking_run_id=None, data_versions={})


def data() -> object:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    X["y"] = (X["a"] * X["b"] + 0.3 * rng.normal(size=300) > 0).astype(int)
    return split(X, "y", seed=0)


def test_a_seeded_search_repeats_and_draws_conditional_parameters_only_when_they_apply(
        tmp_path: Path) -> None:
    first = tune(build, data(), context(tmp_path, trials=8), seed=3)
    again = tune(build, data(), context(tmp_path, trials=8), seed=3)
    assert first == again and first.trials == 8
    if first.params["model"] == "tree":
        assert set(first.params) == {"model", "max_depth"}
    else:
        assert set(first.params) == {"model", "C"}


def test_parallel_workers_share_a_study_in_postgresql(tmp_path: Path, pg_url: str) -> None:
    tuned = tune(build, data(), context(tmp_path, trials=6, workers=2, storage=pg_url))
    assert tuned.trials == 6
    study = optuna.load_study(study_name="tunes.train.run-1", storage=pg_url)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 6 and study.best_value == pytest.approx(tuned.score)


def test_workers_without_a_storage_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(
        "project: p\nenvironments:\n  dev: {lake: lake}\npipelines:\n  train:\n"
        "    function: 'pipeline:train'\n    tuning: {metric: roc_auc, workers: 4}\n")
    with pytest.raises(ConfigError, match=r"pipelines\.train\.tuning.*workers > 1 needs a storage"):
        Project.open(tmp_path, "dev")


def test_a_when_list_draws_the_parameter_for_any_of_its_values() -> None:
    from shipyard.config.schema import ParamRange
    from shipyard.train.tune import sample_params

    space = {"model": ParamRange(choices=["als", "ease", "cosine"]),
             "half_life_days": ParamRange(low=30, high=300, when={"model": ["als", "ease"]})}
    for model, drawn in (("als", True), ("ease", True), ("cosine", False)):
        params = sample_params(optuna.trial.FixedTrial({"model": model, "half_life_days": 60.0}),
                               space)
        assert ("half_life_days" in params) is drawn
