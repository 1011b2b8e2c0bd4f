"""Cache keys: what a step's code is, how a key decodes, why a step re-runs, atomic results."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from shipyard.pipeline.artifacts import save_value
from shipyard.pipeline.cache import CacheKey, ResultStore, decode_key, explain
from shipyard.pipeline.fingerprint import CodeHasher, library_versions
from shipyard.pipeline.loader import import_function
from shipyard.state import FolderState, StateStore

STEPS = """\
import json
import util
from util import clean as tidy

def helper(x):
    return x + 1

def run(x):
    return tidy(helper(x)) + len(json.dumps(x))

def other(x):
    return util.VALUE + x
"""
UTIL = """\
VALUE = 1

def clean(x):
    return x * 2
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "steps_mod.py").write_text(STEPS)
    (tmp_path / "util.py").write_text(UTIL)
    return tmp_path


def _manifest(root: Path, function: str) -> dict[str, str]:
    """The step's code as a run sees it: imported afresh (a new token) like each run does."""
    step = import_function(root, "steps_mod", function, token=uuid.uuid4().hex)
    return CodeHasher(root).manifest(step)


def test_a_step_depends_on_the_project_code_it_calls_and_not_on_libraries(code: Path) -> None:
    manifest = _manifest(code, "run")
    assert set(manifest) == {"steps_mod:run", "steps_mod:helper", "util:clean"}
    assert set(_manifest(code, "other")) == {"steps_mod:other", "util:"}


def test_a_step_depends_on_the_versions_of_the_libraries_its_code_reaches(code: Path) -> None:
    (code / "numeric.py").write_text("import numpy as np\n\ndef mean(x):\n    return np.mean(x)\n")
    step = import_function(code, "numeric", "mean", token=uuid.uuid4().hex)
    reached = CodeHasher(code).libraries(step)
    assert "numpy" in reached
    versions = library_versions(reached)
    assert versions["numpy"] == np.__version__ and versions["python"]
    # the standard library has no distribution of its own: Python's version stands for it
    assert set(library_versions(CodeHasher(code).libraries(
        import_function(code, "steps_mod", "run", token=uuid.uuid4().hex)))) == {"python"}


def test_editing_a_helper_in_another_module_changes_the_step_code(code: Path) -> None:
    before = _manifest(code, "run")
    (code / "util.py").write_text(UTIL.replace("x * 2", "x * 3"))
    after = _manifest(code, "run")
    assert before["util:clean"] != after["util:clean"]
    assert before["steps_mod:run"] == after["steps_mod:run"]
    # An unrelated function of the same module changing leaves the step alone.
    (code / "steps_mod.py").write_text(STEPS.replace("util.VALUE + x", "util.VALUE - x"))
    assert _manifest(code, "run") == after


def _key(**changes) -> CacheKey:
    values = {"step": "fit", "code": {"pipeline:fit": "aa", "helpers:": "bb"},
              "params": {"seed": 1}, "inputs": {"dataset": "f1"},
              "data": {"curated.points": "3"}, "run": {}, "outputs": ("model",),
              "libraries": {"python": "3.11.9", "scikit-learn": "1.5.2"}}
    return CacheKey(**{**values, **changes})


def test_the_key_is_decodable_and_its_fingerprint_is_stable() -> None:
    key = _key()
    assert decode_key(key.encode()) == key
    assert key.fingerprint == _key().fingerprint and len(key.fingerprint) == 32
    assert _key(params={"seed": 2}).fingerprint != key.fingerprint


@pytest.mark.parametrize(("changed", "reason"), [
    ({}, "no cached result"),
    ({"code": {"pipeline:fit": "zz", "helpers:": "bb"}}, "code of fit changed"),
    ({"code": {"pipeline:fit": "aa", "helpers:": "cc"}}, "code of helpers changed"),
    ({"params": {"seed": 2}}, "params changed: seed"),
    ({"inputs": {"dataset": "f2"}}, "input dataset changed"),
    ({"data": {"curated.points": "4"}}, "data version curated.points 3→4"),
    ({"params": {"seed": 2}, "data": {"curated.points": "4"}},
     "params changed: seed; data version curated.points 3→4"),
    ({"run": {"smoke": True}}, "run settings changed: smoke"),
    ({"libraries": {"python": "3.11.9", "scikit-learn": "1.6.0"}},
     "library scikit-learn 1.5.2→1.6.0"),
])
def test_explain_says_what_changed_since_the_previous_attempt(changed: dict, reason: str) -> None:
    assert explain(_key(**changed), _key()) == reason
    assert explain(_key(), None) == "no cached result"


def test_a_result_is_visible_only_once_committed(tmp_path: Path) -> None:
    store = ResultStore(FolderState(tmp_path))
    assert store.lookup("abc") is None
    staging = store.staging("abc")
    (staging / "x.json").write_text("1")
    assert store.lookup("abc") is None  # a run killed here leaves no result behind
    done = store.commit(staging, "abc", step="s", run_id="r1", key=_key().encode(),
                        outputs={"x": {"kind": "json", "path": "x.json"}})
    found = store.lookup("abc")
    assert found is not None and found.run_id == "r1" and found.path("x") == done.path("x")
    again = store.staging("abc")
    (again / "x.json").write_text("2")
    store.commit(again, "abc", step="s", run_id="r2", key=_key().encode(),
                 outputs={"x": {"kind": "json", "path": "x.json"}})
    assert store.lookup("abc").run_id == "r2"
    assert [p.name for p in (tmp_path / "artifacts").iterdir()] == ["abc"]


def test_a_result_in_either_state_store_counts_once_its_manifest_is_written(
        store: StateStore) -> None:
    results = ResultStore(store)
    staging = results.staging("fp1")
    outputs = {"n": save_value(3, staging, "n", where="n"),
               "parts": save_value({"a": [1, 2], "b": "x"}, staging, "parts", where="parts")}
    store.put_tree("artifacts/fp1", staging)  # a writer killed before its manifest
    assert results.lookup("fp1") is None

    done = results.commit(staging, "fp1", step="s", run_id="r1", key=_key().encode(),
                          outputs=outputs)
    found = results.lookup("fp1")
    assert found is not None and found.run_id == "r1" and found.path("n") == done.path("n")
    assert found.path("n") == store.where("artifacts/fp1/n.json")
    assert results.load(found, "n") == 3
    assert results.load(found, "parts") == {"a": [1, 2], "b": "x"}
