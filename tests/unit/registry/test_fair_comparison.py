"""Champion against challenger on rows neither version has seen.

Two random splits of the same data share most of their rows, so scoring both versions on the
challenger's test rows scores the champion largely on rows it was fitted on. A planted
challenger whose test rows are the champion's training rows shows the difference: the old rule
scored both on those rows, the new one leaves them out (and refuses when nothing is left).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shipyard import run_pipeline
from shipyard.errors import ComparisonRefused
from shipyard.examples import create_example
from shipyard.lake.ingest import ingest
from shipyard.project import Project
from shipyard.registry import AuditTrail, Registry, compare_scores, compare_versions, promote
from shipyard.train.rows import row_keys, set_hash

PLANTED = '''
import json

import pandas as pd

from pipeline import TARGET, build_model, prepare
from shipyard.pipeline import Pipeline, step
from shipyard.train import Split, train_classifier
from shipyard.train.rows import row_keys


def planted(data: pd.DataFrame, test_ids: str, ctx) -> object:
    """Test rows: the passengers ``test_ids`` names; validation every fourth of the others."""
    data = data.set_axis(row_keys(data[["passenger_id"]]))
    test = data["passenger_id"].isin(json.loads(test_ids)).to_numpy()
    val = ~test & (pd.Series(range(len(data))) % 4 == 0).to_numpy()
    X, y = data.drop(columns=["passenger_id", TARGET]), data[TARGET]
    parts = Split(*(v for part in (~test & ~val, val, test) for v in (X[part], y[part])))
    return train_classifier("titanic", lambda p: build_model(p, 0), parts, ctx, seed=0)


def train() -> Pipeline:
    return Pipeline([
        step(prepare, inputs={"passengers": "curated.training_set"}, outputs="data"),
        step(planted, inputs={"data": "data", "test_ids": "params:test_ids", "ctx": "context"},
             outputs="model"),
    ])
'''


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = create_example("titanic", tmp_path_factory.mktemp("fair") / "titanic")
    config = root / "shipyard.yaml"
    config.write_text(config.read_text().replace("trials: 20", "trials: 1")
                      .replace('accuracy: ">= 0.75"', 'accuracy: ">= 0.5"')
                      .replace("pipelines:\n", "pipelines:\n  planted:\n    function: "
                               "\"planted:train\"\n    params: {test_ids: \"[]\"}\n"))
    (root / "planted.py").write_text(PLANTED)
    project = Project.open(root, "dev")
    ingest(project)
    return project


def _passengers(project: Project) -> pd.DataFrame:
    import deltalake

    frame = deltalake.DeltaTable(f"{project.lake_root}/curated/training_set").to_pandas()
    return frame.set_axis(row_keys(frame[["passenger_id"]]))


def _plant(project: Project, ids: pd.Series) -> int:
    """Register a challenger whose test rows are the passengers ``ids``."""
    done = run_pipeline(project, "planted", params={"test_ids": json.dumps(ids.tolist())})
    return int(done.registered[0].version)


def test_a_challenger_tested_on_the_champions_training_rows_is_compared_on_the_rest(
        titanic: Project) -> None:
    first = run_pipeline(titanic, "train", params={"seed": "1"})
    champion = int(first.registered[0].version)
    promote(titanic, "titanic", champion, reason="first")
    registry = Registry.of(titanic)
    old = registry.fetch("titanic", champion)
    assert old.rows is not None and len(old.rows.test) == len(old.test_X) == 262
    passengers = _passengers(titanic)
    fit_ids = passengers.loc[old.rows.fit[:300], "passenger_id"]
    test_ids = passengers.loc[old.rows.test, "passenger_id"]
    # 300 of the champion's training rows and its 262 test rows
    challenger = _plant(titanic, pd.concat([fit_ids, test_ids]))
    new = registry.fetch("titanic", challenger)
    assert new.rows is not None and len(new.rows.test) == 562

    # the old rule: both scored on all of the challenger's test rows
    y = new.test_y.to_numpy()
    before = compare_scores("titanic", challenger, champion, y,
                            new.model.predict_proba(new.test_X)[:, 1],
                            old.model.predict_proba(new.test_X)[:, 1], primary_metric="roc_auc")
    after = compare_versions(titanic, "titanic", challenger, champion)
    assert before.rows == 562 and after.rows == 262
    assert after.evaluation is not None
    assert after.evaluation["rows_hash"] == set_hash(old.rows.test)
    assert after.evaluation["candidates"] == 562
    assert after.evaluation["data_versions"]  # the lake versions the rows came from
    # the result changes: the 300 rows the champion was fitted on no longer count
    assert before.primary.champion != after.primary.champion
    assert before.primary.improvement != after.primary.improvement
    compared = [e for e in AuditTrail.of(titanic).history("titanic")
                if e.action == "compared" and e.version == challenger]
    assert compared and compared[0].details["evaluation"]["rows"] == 262
    assert set_hash(old.rows.test) in compared[0].reason


def test_a_challenger_tested_only_on_the_champions_training_rows_is_refused(
        titanic: Project) -> None:
    registry = Registry.of(titanic)
    champion = registry.version_at("titanic", "production")
    old = registry.fetch("titanic", champion)
    fit_ids = _passengers(titanic).loc[old.rows.fit[:300], "passenger_id"]
    challenger = _plant(titanic, fit_ids)  # registration notes the refusal, audits it
    trail = AuditTrail.of(titanic).history("titanic")
    refused = [e for e in trail if e.action == "comparison_refused" and e.version == challenger]
    assert refused and "0 rows" in refused[0].reason
    with pytest.raises(ComparisonRefused, match=r"only 0 rows of v\d+'s 300 test rows.*"
                                                r"compare_min_rows"):
        compare_versions(titanic, "titanic", challenger, champion)


def test_row_keys_hash_ids_and_a_set_hash_ignores_order() -> None:
    a = row_keys(pd.DataFrame({"id": [1, 2, 3]}))
    assert len(set(a)) == 3 and a.name == "shipyard_row"
    assert set_hash(np.asarray(a)) == set_hash(np.asarray(a)[::-1])
    assert set_hash(np.asarray(a[:2])) != set_hash(np.asarray(a))
