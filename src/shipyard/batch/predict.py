"""``shipyard predict``: score a CSV or Parquet file with a registered model version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from shipyard.errors import NotFoundError, PipelineError
from shipyard.project import Project

if TYPE_CHECKING:
    import pyarrow as pa

    from shipyard.pipeline.step import RunContext

__all__ = ["Scored", "predict_file", "predict_step", "read_table", "score_frame"]


@dataclass(frozen=True)
class Scored:
    rows: int
    version: int
    output: Path


def read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise NotFoundError(f"input file {path} does not exist")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    raise PipelineError(f"{path}: expected a .csv or .parquet file")


def score_frame(model: Any, frame: pd.DataFrame, *, k: int = 10) -> pd.DataFrame:
    """Predictions next to the input: class and probability, or a customer's top ``k``."""
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

    check_categories(frame, known_categories(model), where="input rows")
    probability = model.predict_proba(frame[expected])[:, 1]
    return frame.assign(prediction=(probability >= 0.5).astype(int), probability=probability)


def predict_file(project: Project, model: str, source: Path, output: Path, *,
                 alias: str = "production", version: int | None = None) -> Scored:
    from shipyard.registry import Registry

    registry = Registry.of(project)
    chosen = version or registry.version_at(model, alias)
    fitted, _, _ = registry.load(model, chosen)
    scored = score_frame(fitted, read_table(source))
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".csv":
        scored.to_csv(output, index=False)
    else:
        scored.to_parquet(output)
    return Scored(len(scored), chosen, output)


def predict_step(ctx: RunContext, rows: pa.Table | pd.DataFrame, model: str,
                 alias: str = "production") -> pd.DataFrame:
    """A pipeline step that scores ``rows`` with the ``alias`` version of ``model``, e.g.
    ``step(predict_step, inputs={"ctx": "context", "rows": "curated.new_passengers",
    "model": "params:model"}, outputs="scored", cache=False)`` (uncached: the version behind
    the alias can change between runs while the rows do not)."""
    from shipyard.registry import Registry

    registry = Registry.of(ctx.project)
    version = registry.version_at(model, alias)
    frame = rows if isinstance(rows, pd.DataFrame) else rows.to_pandas()
    fitted, _, _ = registry.load(model, version)
    return score_frame(fitted, frame).assign(model_version=version)
