"""A small generated project for the pipeline tests, and the tests of loading its pipelines.

The project has one curated lake table, a helper module and a five-step pipeline whose
``checkpoint`` step kills its own process (SIGKILL) when ``SHIPYARD_TEST_KILL_MARKER`` names a
file that does not exist yet — the way a real crash looks to the run records.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from shipyard.errors import PipelineDefinitionError, PipelineError
from shipyard.lake.tables import DeltaStore
from shipyard.pipeline import Pipeline
from shipyard.pipeline.loader import load_pipeline
from shipyard.project import Project

PROJECT_YAML = """\
project: demo
environments:
  dev:
{environment}
pipelines:
  train:
    function: "pipeline:train"
    params: {{scale: 2.0, seed: 7, test_size: 0.25, note: "first"}}
    tuning: {{trials: 5, metric: rmse, direction: minimize}}
{dask}
  broken:
    function: "pipeline:broken"
    params: {{scale: 1.0}}
{dask}
  model:
    function: "pipeline:model"
    params: {{scale: 1.0}}
  pinned:
    function: "pipeline:pinned"
    params: {{scale: 1.0}}
  nothing:
    function: "pipeline:not_a_pipeline"
  missing:
    function: "nowhere:train"
"""

HELPERS = """\
def double(values):
    return values * 2
"""

PIPELINE = '''\
from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

import helpers
from shipyard.pipeline import Pipeline, RunContext, step


def prepare(points: pa.Table, scale: float) -> pd.DataFrame:
    frame = points.to_pandas()
    frame["z"] = helpers.double(frame["x"]) * scale
    return frame


def split(data: pd.DataFrame, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    test = data.sample(frac=test_size, random_state=seed).sort_index()
    return data.drop(test.index), test


def checkpoint(train: pd.DataFrame) -> int:
    marker = os.environ.get("SHIPYARD_TEST_KILL_MARKER")
    if marker and not Path(marker).exists():
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return len(train)


def fit(train: pd.DataFrame, ctx: RunContext) -> dict:
    coef = float(np.polyfit(train["x"], train["y"], 1)[0])
    ctx.log_metrics({"coef": coef})
    return {"coef": coef, "trials": ctx.tuning.trials, "smoke": ctx.smoke,
            "mlflow_parent": ctx.tracking_run_id, "versions": ctx.data_versions}


def evaluate(model: dict, test: pd.DataFrame, rows: int) -> dict:
    error = test["x"] * model["coef"] - test["y"]
    return {"rmse": float(np.sqrt((error ** 2).mean())), "train_rows": rows,
            "test_rows": len(test)}


def train() -> Pipeline:
    return Pipeline([
        step(prepare, inputs={"points": "curated.points", "scale": "params:scale"},
             outputs="dataset"),
        step(split, inputs={"data": "dataset", "test_size": "params:test_size",
                            "seed": "params:seed"}, outputs=["train_set", "test_set"]),
        step(checkpoint, inputs={"train": "train_set"}, outputs="rows"),
        step(fit, inputs={"train": "train_set", "ctx": "context"}, outputs="model"),
        step(evaluate, inputs={"model": "model", "test": "test_set", "rows": "rows"},
             outputs="report"),
    ])


def explode(dataset: pd.DataFrame) -> int:
    raise ValueError(f"boom: {len(dataset)} rows is not enough")


def combine(never: int, dataset: pd.DataFrame) -> int:
    return never + len(dataset)


def broken() -> Pipeline:
    return Pipeline([
        step(prepare, inputs={"points": "curated.points", "scale": "params:scale"},
             outputs="dataset"),
        step(explode, inputs={"dataset": "dataset"}, outputs="never"),
        step(combine, inputs={"never": "never", "dataset": "dataset"}, outputs="total"),
    ])


def make_model(dataset: pd.DataFrame):
    from shipyard.train.trained import TrainedModel

    trained = TrainedModel.__new__(TrainedModel)  # only its name matters to these tests
    trained.name = f"demo_{len(dataset)}"
    return trained


def model() -> Pipeline:
    return Pipeline([
        step(prepare, inputs={"points": "curated.points", "scale": "params:scale"},
             outputs="dataset"),
        step(make_model, inputs={"dataset": "dataset"}, outputs="trained"),
    ])


def pinned() -> Pipeline:
    return Pipeline([step(prepare, inputs={"points": "curated.points@0", "scale": "params:scale"},
                          outputs="dataset")])


def not_a_pipeline() -> list:
    return []
'''


def points(rows: int = 200, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pa.table({"id": np.arange(rows), "x": x, "y": 3 * x + rng.normal(0, 0.1, rows)})


def write_points(root: Path, table: pa.Table) -> int:
    """Write a new version of ``curated.points``; returns its number."""
    return DeltaStore(str(root / "lake")).write("curated", "points", table, mode="overwrite",
                                                metadata={"batch": "test"})


def make_project(root: Path, *, tracking_uri: str | None = None,
                 dask_address: str | None = None, rows: int = 200,
                 **stores: str) -> Path:
    """Write the demo project into ``root`` (with version 0 of its lake table).

    ``stores`` are more keys of the ``dev`` environment, e.g. ``metadata_db``.
    """
    root.mkdir(parents=True, exist_ok=True)
    environment = {"lake": "lake", **stores}
    if tracking_uri:
        environment["tracking_uri"] = tracking_uri
    lines = "\n".join(f'    {key}: "{value}"' for key, value in environment.items())
    dask = f'    dask_address: "{dask_address}"' if dask_address else ""
    (root / "shipyard.yaml").write_text(PROJECT_YAML.format(environment=lines, dask=dask))
    (root / "helpers.py").write_text(HELPERS)
    (root / "pipeline.py").write_text(PIPELINE)
    write_points(root, points(rows))
    return root


def plain_report(project: Project, scale: float = 2.0, test_size: float = 0.25,
                  seed: int = 7, version: int | None = None) -> dict[str, Any]:
    """The report computed by calling the step functions directly, without Shipyard."""
    sys.path.insert(0, str(project.root))
    try:
        import pipeline as module  # the project's module, freshly imported by the runner
    finally:
        sys.path.remove(str(project.root))
    table = DeltaStore(project.lake_root).open("curated", "points", version).to_pyarrow_table()
    data = module.prepare(table, scale)
    train, test = module.split(data, test_size, seed)
    coef = float(np.polyfit(train["x"], train["y"], 1)[0])
    return module.evaluate({"coef": coef}, test, module.checkpoint(train))


def edit(path: Path, old: str, new: str) -> None:
    """Change a source file so that its size changes too (stale .pyc files are impossible)."""
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new) + "\n# edited\n")


@functools.cache
def shared_tracking() -> str:
    """One MLflow store for all pipeline tests of a session: creating one costs two seconds."""
    folder = Path(tempfile.mkdtemp(prefix="shipyard-mlflow-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def demo_project(root: Path, **options: Any) -> Project:
    return Project.open(make_project(root, tracking_uri=shared_tracking(), **options))


@pytest.fixture
def demo(tmp_path: Path) -> Project:
    return demo_project(tmp_path / "demo")


def test_the_declared_function_is_imported_from_the_project_folder(demo: Project) -> None:
    built = load_pipeline(demo, "train", token="t1")
    assert isinstance(built, Pipeline)
    assert [s.name for s in built.steps] == ["prepare", "split", "checkpoint", "fit", "evaluate"]


def test_an_edited_module_is_imported_again_for_the_next_run(demo: Project) -> None:
    load_pipeline(demo, "train", token="t1")
    edit(demo.root / "pipeline.py", "def checkpoint(", "def checkpoint_renamed(")
    edit(demo.root / "pipeline.py", "step(checkpoint,", "step(checkpoint_renamed,")
    built = load_pipeline(demo, "train", token="t2")
    assert "checkpoint_renamed" in [s.name for s in built.steps]


@pytest.mark.parametrize(("name", "message"), [
    ("nope", "unknown pipeline 'nope'; "),
    ("nothing", "returned list, expected a Pipeline"),
    ("missing", "module 'nowhere' not found in"),
])
def test_loading_errors_name_the_pipeline_and_the_fix(demo: Project, name: str,
                                                      message: str) -> None:
    with pytest.raises(PipelineError, match=message.replace("(", r"\(")) as error:
        load_pipeline(demo, name, token="t")
    # a declared pipeline that is written wrongly is a definition error, to edit, not retry
    assert isinstance(error.value, PipelineDefinitionError) == (name != "nope")
    if name == "nope":
        assert "declares: broken, missing, model, nothing, pinned, train" in str(error.value)


def test_a_second_project_with_the_same_module_name_gets_its_own_module(
        tmp_path: Path) -> None:
    first = demo_project(tmp_path / "a")
    second = demo_project(tmp_path / "b")
    edit(second.root / "pipeline.py", "def fit(", "def fit_b(")
    edit(second.root / "pipeline.py", "step(fit,", "step(fit_b,")
    assert "fit" in [s.name for s in load_pipeline(first, "train", token="x")]
    assert "fit_b" in [s.name for s in load_pipeline(second, "train", token="x")]


