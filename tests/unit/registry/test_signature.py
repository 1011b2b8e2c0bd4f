"""A registered model's input signature comes from the declared schema, not from its seed.

Before, MLflow inferred it from a five-row input example: whether ``age`` may be null then
depended on whether those five passengers had one, so one version accepted ``null`` and the
next answered 422 for the 263 passengers without an age.
"""

from __future__ import annotations

import pytest

from shipyard import run_pipeline
from shipyard.config.schema import ProjectConfig
from shipyard.examples import create_example
from shipyard.lake.ingest import ingest
from shipyard.project import Project
from shipyard.registry import Registry
from shipyard.train.signature import declared_not_null


def test_only_columns_declared_not_null_are_required_by_their_clean_name() -> None:
    config = ProjectConfig.model_validate({
        "project": "p", "environments": {"dev": {"lake": "lake"}},
        "sources": {"db": {"url": "sqlite:///x.db"}},
        "tables": {
            "a": {"source": "db", "table": "a", "clean": {"rename": {"AGE": "age"}},
                  "validation": {"expectations": {"id": {"not_null": True},
                                                  "AGE": {"not_null": True},
                                                  "note": {"min": 0}}}},
            "b": {"source": "db", "table": "b",
                  "validation": {"expectations": {"id": {"unique": True},
                                                  "kind": {"not_null": True}}}},
        }})
    # id is nullable in b, so a model fed from either may see a null id
    assert declared_not_null(config) == {"age", "kind"}


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = create_example("titanic", tmp_path_factory.mktemp("signature") / "titanic")
    config = root / "shipyard.yaml"
    config.write_text(config.read_text().replace("trials: 20", "trials: 1")
                      .replace('accuracy: ">= 0.75"', 'accuracy: ">= 0.5"'))
    project = Project.open(root, "dev")
    ingest(project)
    return project


def test_two_seeds_register_the_same_signature_with_age_optional(titanic: Project) -> None:
    # seed 1's five example rows include a passenger without an age, seed 2's do not
    first = run_pipeline(titanic, "train", params={"seed": "1"})
    second = run_pipeline(titanic, "train", params={"seed": "2"})
    examples = [r.load("model").input_example["age"].isna().any() for r in (first, second)]
    assert examples == [True, False]  # the case that used to give two signatures
    registry = Registry(titanic)
    signatures = [registry.inputs("titanic", r.registered[0].version)[1]
                  for r in (first, second)]
    assert signatures[0] == signatures[1]
    required = {column: needed for column, _, needed in signatures[0]}
    assert required == {"pclass": True, "sex": True, "age": False, "sibsp": False,
                        "parch": False}
    assert {c: t for c, t, _ in signatures[0]}["age"] == "double"


def test_the_titanic_example_declares_its_labels_and_keys_not_null(titanic: Project) -> None:
    assert declared_not_null(titanic.config) == {"passenger_id", "pclass", "sex", "survived"}
