"""``shipyard predict``: score a CSV or Parquet file with a registered model version.

The output is written in the format its suffix names (.csv, .parquet, .json, .jsonl); any
other suffix is refused before a model is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from shipyard.errors import NotFoundError, PipelineError
from shipyard.names import PRODUCTION
from shipyard.project import Project

if TYPE_CHECKING:
    import pyarrow as pa

    from shipyard.pipeline.step import RunContext
    from shipyard.registry import Registry
    from shipyard.train.compiled import CompiledModel

__all__ = ["Scored", "predict_file", "predict_step", "read_table", "score_frame"]


@dataclass(frozen=True)
class Scored:
    rows: int
    version: int
    output: Path


_READERS = (".csv", ".parquet")
_WRITERS: dict[str, Callable[[pd.DataFrame, Path], object]] = {
    ".csv": lambda frame, path: frame.to_csv(path, index=False),
    ".parquet": lambda frame, path: frame.to_parquet(path, index=False),
    ".json": lambda frame, path: frame.to_json(path, orient="records", indent=1),
    ".jsonl": lambda frame, path: frame.to_json(path, orient="records", lines=True),
}
"""How scored rows are written, by the output's suffix: a file is what its name says."""


def _check_input(source: Path) -> None:
    if not source.exists():
        raise NotFoundError(f"input file {source} does not exist")
    if source.suffix not in _READERS:
        raise PipelineError(f"{source}: expected a .csv or .parquet file")


def _check_output(output: Path) -> None:
    """Refuse a format that cannot be written before any model is loaded (scoring a large
    file first and failing at the end, or writing Parquet under another name, loses work)."""
    if output.suffix not in _WRITERS:
        what = output.suffix or "a file without a suffix"
        raise PipelineError(f"--output {output}: cannot write {what}; name it with one of "
                            f"{', '.join(_WRITERS)}")


def read_table(path: Path, *, text: Sequence[str] = ()) -> pd.DataFrame:
    """Rows of a .csv or .parquet file; ``text`` columns of a CSV are read as text as they
    stand (``007`` stays ``007``), not parsed as numbers."""
    _check_input(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=dict.fromkeys(text, str))


def score_frame(model: Any, frame: pd.DataFrame, *, k: int = 10,
                compiled: CompiledModel | None = None) -> pd.DataFrame:
    """Predictions next to the input: class and probability, a regressor's value, or a
    customer's top ``k``.

    With ``compiled`` (the version's checked ONNX graph, :mod:`shipyard.train.compiled`), the
    answers come from it, as they do from the server; else from ``model``.
    """
    from shipyard.recsys.model import RecModel

    if isinstance(model, RecModel):
        answers = model.recommend(frame.iloc[:, 0].astype(str).tolist(), k,
                                  exclude_seen=bool(model.params.get("exclude_seen", False)))
        # pandas-stubs take a list given for a column as scalars only; a column of lists is valid.
        return frame.assign(products=[[p for p, _ in a] for a in answers],  # type: ignore[misc]
                            scores=[[s for _, s in a] for a in answers])  # type: ignore[misc]
    expected = list(getattr(model, "feature_names_in_", frame.columns))
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise PipelineError(f"input lacks column(s) {', '.join(missing)}; the model expects "
                            f"{', '.join(expected)}")
    from shipyard.train.categories import check_categories, known_categories
    from shipyard.train.outputs import outputs, task_of

    check_categories(frame, known_categories(model), where="input rows")
    task = task_of(model)
    answered = (outputs(model, frame[expected], task) if compiled is None
                else compiled.predict_frame(frame))
    if task == "regression":
        return frame.assign(prediction=answered)
    return frame.assign(prediction=(answered >= 0.5).astype(int), probability=answered)


def _chosen(registry: Registry, model: str, alias: str, version: int | None) -> int:
    """The version to score with: ``version`` if the model has it, else the alias's."""
    if version is None:
        return registry.version_at(model, alias)
    known = [int(v.version) for v in registry.versions(model)]  # unknown model: names the known
    if version not in known:
        raise NotFoundError(f"model {model!r} has no version {version}; its versions are "
                            f"{', '.join(map(str, known))} (see "
                            f"'{registry.project.command('models ls')}')")
    return version


def predict_file(project: Project, model: str, source: Path, output: Path, *,
                 alias: str = PRODUCTION, version: int | None = None) -> Scored:
    """Score the rows of ``source`` with a version of ``model`` and write them to ``output``.

    The files are checked first (input exists, both formats known), then the rows against
    the version's input signature, so that a bad file fails naming its column and row, not
    inside scikit-learn.
    """
    from shipyard.registry import Registry
    from shipyard.train.signature import conform

    _check_input(source)
    _check_output(output)
    registry = Registry.of(project)
    chosen = _chosen(registry, model, alias, version)
    fetched = registry.fetch(model, chosen)
    rows = read_table(source, text=[c for c, kind, _ in fetched.inputs if kind == "string"])
    rows = conform(rows, fetched.inputs, where=str(source), model=f"{model} v{chosen}")
    scored = score_frame(fetched.model, rows, compiled=fetched.compiled_model()[0])
    output.parent.mkdir(parents=True, exist_ok=True)
    _WRITERS[output.suffix](scored, output)
    return Scored(len(scored), chosen, output)


def predict_step(ctx: RunContext, rows: pa.Table | pd.DataFrame, model: str,
                 alias: str = PRODUCTION) -> pd.DataFrame:
    """A pipeline step that scores ``rows`` with the ``alias`` version of ``model``, e.g.
    ``step(predict_step, inputs={"ctx": "context", "rows": "curated.new_passengers",
    "model": "params:model"}, outputs="scored", cache=False)`` (uncached: the version behind
    the alias can change between runs while the rows do not)."""
    from shipyard.registry import Registry

    registry = Registry.of(ctx.project)
    version = registry.version_at(model, alias)
    frame = rows if isinstance(rows, pd.DataFrame) else rows.to_pandas()
    fetched = registry.fetch(model, version)
    return score_frame(fetched.model, frame, compiled=fetched.compiled_model()[0]).assign(
        model_version=version)
