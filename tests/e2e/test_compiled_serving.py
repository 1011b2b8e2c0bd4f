"""The compiled path driven as a user would: a trained Titanic version is served by its ONNX
graph, a version whose pipeline skl2onnx cannot convert is served by scikit-learn with the
reason in ``models show``, and promotions between the two under load fail no request."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shipyard.project import Project
from shipyard.registry import Registry
from shipyard.train.compiled import TOLERANCE
from tests.e2e.cli import run
from tests.e2e.examples import ExampleProjects
from tests.e2e.server import AUTH, http, serving
from tests.e2e.swaps import promote_under_load
from tests.e2e.test_serving import ROW

UNCONVERTIBLE = " FunctionTransformer(np.arcsinh),"


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory, example_projects: ExampleProjects) -> Path:
    """Titanic with version 1 (ONNX) in production and version 2 staged, trained after its
    numbers went through a FunctionTransformer, which skl2onnx has no converter for."""
    root = example_projects.copy("titanic-trained",
                                 tmp_path_factory.mktemp("compiled") / "titanic")
    source = root / "pipeline.py"
    text = source.read_text()
    marker, imports = ('numeric = make_pipeline(SimpleImputer(strategy="median"),',
                       "from __future__ import annotations\n")
    assert marker in text and imports in text, "the example's pipeline changed; update this test"
    source.write_text(text.replace(marker, marker + UNCONVERTIBLE).replace(
        imports, imports + "import numpy as np\nfrom sklearn.preprocessing import FunctionTransformer\n"))
    run("run", "train", "--no-cache", cwd=root)
    return root


def test_models_show_says_which_path_serves_each_version_and_why(titanic: Path) -> None:
    shown = " ".join(run("models", "show", "titanic", cwd=titanic).stdout.split())
    assert "v1 served by onnx (max |Δp|" in shown
    assert f"≤ {TOLERANCE:g} on" in shown
    assert "v2 served by sklearn (conversion failed: RuntimeError: FunctionTransformer" in shown
    registry = Registry.of(Project.open(titanic, "dev"))
    onnx, sklearn = registry.fetch("titanic", 1), registry.fetch("titanic", 2)
    assert onnx.graph is not None and onnx.compiled is not None
    assert onnx.compiled.rows == len(onnx.test_X)
    assert sklearn.graph is None and sklearn.compiled is not None
    assert sklearn.compiled.path == "sklearn"


def test_batch_predict_takes_the_same_path_as_the_server(titanic: Path, tmp_path: Path) -> None:
    pd.DataFrame([ROW, {**ROW, "age": None}]).to_csv(tmp_path / "rows.csv", index=False)
    run("predict", "titanic", "--version", "1", "--input", str(tmp_path / "rows.csv"),
        "--output", str(tmp_path / "scored.parquet"), cwd=titanic)
    scored = pd.read_parquet(tmp_path / "scored.parquet")["probability"].tolist()
    with serving(titanic) as base:  # v1 is in production
        answer = http.post(f"{base}/v1/models/titanic/predict", headers=AUTH,
                           json={"rows": [ROW, {**ROW, "age": None}]}).json()
    assert answer["version"] == 1
    # one graph, one answer: the file and the server agree to the last bit
    assert [p["probability"] for p in answer["predictions"]] == scored


def test_promotions_between_onnx_and_sklearn_under_load_fail_no_request(titanic: Path) -> None:
    with serving(titanic, "--poll", "0.3") as base:
        report, seen = promote_under_load(titanic, base, [2, 1, 2, 1], ROW)  # sklearn ⇄ onnx
        assert report.failures == 0, report.summary()
        assert seen == {1, 2}
