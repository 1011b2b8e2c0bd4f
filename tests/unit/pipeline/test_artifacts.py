"""Step outputs round-trip through typed files; anything that would need a pickle is refused."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

# the modules that register estimators and TrainedModel as artifact types (shipyard.train
# itself imports them lazily)
import shipyard.train.persist
import shipyard.train.trained  # noqa: F401
from shipyard.errors import PipelineError, UnsupportedArtifact, UntrustedEstimator
from shipyard.pipeline.artifacts import load_value, save_value


def _roundtrip(value: Any, folder: Path) -> tuple[dict[str, Any], Any]:
    entry = save_value(value, folder, "out", where="step 's' output 'out'")
    return entry, load_value(json.loads(json.dumps(entry)), folder)


def test_tables_arrays_and_json_values_come_back_equal(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}, index=[10, 20, 30])
    entry, back = _roundtrip(frame, tmp_path)
    assert entry["kind"] == "pandas" and entry["path"].endswith(".parquet")
    pd.testing.assert_frame_equal(back, frame)

    table = pa.table({"x": [1.5, 2.5]})
    assert _roundtrip(table, _fresh(tmp_path, "t"))[1].equals(table)

    array = np.arange(6, dtype="float32").reshape(2, 3)
    entry, back = _roundtrip(array, _fresh(tmp_path, "a"))
    assert entry["kind"] == "numpy" and back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)

    series = pd.Series([0.1, 0.2], name="label")
    pd.testing.assert_series_equal(_roundtrip(series, _fresh(tmp_path, "s"))[1], series)

    plain = {"rmse": 0.5, "n": np.int64(3), "ok": True, "none": None, "pair": (1, "a"),
             "items": [1, 2]}
    entry, back = _roundtrip(plain, _fresh(tmp_path, "j"))
    assert entry["kind"] == "json"
    assert back == {"rmse": 0.5, "n": 3, "ok": True, "none": None, "pair": (1, "a"),
                    "items": [1, 2]}


def _fresh(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    return folder


def test_a_dict_of_frames_becomes_a_folder_with_one_file_per_key(tmp_path: Path) -> None:
    splits = {"X_train": pd.DataFrame({"a": [1.0]}), "y_train": pd.Series([1], name="y"),
              "meta": {"rows": 1}}
    entry, back = _roundtrip(splits, tmp_path)
    assert entry["kind"] == "dict"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "000-X_train.parquet", "001-y_train.parquet", "002-meta.json"]
    pd.testing.assert_frame_equal(back["X_train"], splits["X_train"])
    pd.testing.assert_series_equal(back["y_train"], splits["y_train"])
    assert back["meta"] == {"rows": 1}
    pair = (pd.DataFrame({"a": [1]}), np.zeros(2))
    back_pair = _roundtrip(pair, _fresh(tmp_path, "p"))[1]
    assert isinstance(back_pair, tuple) and len(back_pair) == 2


def test_a_scikit_learn_estimator_is_stored_with_skops(tmp_path: Path) -> None:
    X, y = np.random.default_rng(0).normal(size=(40, 3)), np.array([0, 1] * 20)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    entry, back = _roundtrip(model, tmp_path)
    assert entry["kind"] == "sklearn" and entry["path"].endswith(".skops")
    np.testing.assert_array_equal(back.predict(X), model.predict(X))


def _own_function(x: Any) -> Any:
    return x


def test_an_estimator_holding_foreign_code_is_refused_at_save_and_at_load(
        tmp_path: Path) -> None:
    model = FunctionTransformer(_own_function).fit(np.ones((2, 2)))
    with pytest.raises(UntrustedEstimator, match=r"step 's' output 'out': the estimator contains "
                                            r"types that cannot be loaded back safely: "
                                            r".*_own_function"):
        save_value(model, tmp_path, "out", where="step 's' output 'out'")
    import skops.io as sio

    sio.dump(model, tmp_path / "evil.skops")  # e.g. a file planted in the artifact store
    with pytest.raises(UntrustedEstimator, match="refusing to load an estimator holding"):
        load_value({"kind": "sklearn", "path": "evil.skops"}, tmp_path)


class Opaque:
    pass


@pytest.mark.parametrize("value", [Opaque(), {"model": Opaque()}, np.array([Opaque()])])
def test_other_types_are_refused_naming_the_step_output_and_the_supported_types(
        tmp_path: Path, value: Any) -> None:
    with pytest.raises(UnsupportedArtifact) as error:
        save_value(value, tmp_path, "out", where="step 'fit' output 'model'")
    assert isinstance(error.value, PipelineError)  # what callers catching the old class see
    text = str(error.value)
    assert text.startswith("step 'fit' output 'model'")
    assert "Supported types: pyarrow.Table, pandas.DataFrame" in text or "pickling" in text


def test_a_stored_entry_cannot_make_a_reader_import_a_module_outside_shipyard(
        tmp_path: Path) -> None:
    """An entry names the module that registered its type; a tampered one names another."""
    entry = save_value(make_pipeline(StandardScaler()), tmp_path, "model", where="a test")
    assert entry["module"].startswith("shipyard.")
    tampered = {**entry, "kind": "not-registered", "module": "wave"}
    with pytest.raises(UnsupportedArtifact, match="'wave'"):
        load_value(tampered, tmp_path)
    assert "wave" not in sys.modules
