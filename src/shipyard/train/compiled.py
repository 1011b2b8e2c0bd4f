"""The compiled path of a tabular model: its scikit-learn pipeline as ONNX, run by onnxruntime.

A one-row ``predict_proba`` (or a regressor's ``predict``) of a scikit-learn pipeline spends
milliseconds in pandas and the column transformer around microseconds of arithmetic. At
registration the pipeline is converted with skl2onnx, one graph input per signature column
(text columns as strings, everything else as 32-bit floats: onnxruntime's imputer and tree
kernels take no doubles, and scikit-learn's trees compare 32-bit floats too), and the graph is
checked against the pipeline on the version's test rows: every positive-class probability
within :data:`TOLERANCE` (a regressor's predicted value within :data:`TOLERANCE` times the
largest one, at least 1: its scale is the target's). Only then is it kept with the version
(``extra_files/model.onnx``); either way the outcome is kept as ``extra_files/compiled.json``
(maximum difference, rows, tolerance, or why conversion failed) and as the version's tag
``shipyard.served_by``, which ``models show`` reads.

A version without a checked graph (a transformer skl2onnx has no converter for, a difference
over the tolerance, a version registered before this) is served by scikit-learn as before.

:class:`CompiledModel` runs a kept graph: one ``InferenceSession`` per version, fed per-column
NumPy arrays made straight from request rows (dicts parsed from JSON) or from a frame, so the
serving path touches no pandas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from shipyard.names import SERVED_BY
from shipyard.train.metrics import Task
from shipyard.train.outputs import outputs, task_of

__all__ = ["CHECK_FILE", "ONNX_FILE", "SERVED_BY", "TOLERANCE", "CompileCheck", "CompiledModel",
           "compile_model"]

ONNX_FILE = "model.onnx"
CHECK_FILE = "compiled.json"
TOLERANCE = 1e-5
"""Largest absolute difference of a positive-class probability allowed between the graph and
the pipeline on the test rows. The graph computes in 32-bit floats: on the examples the
difference is about 1e-7; a real conversion error (a wrong category order, a dropped step)
is orders of magnitude larger."""
_REASON_CHARS = 300


@dataclass(frozen=True)
class CompileCheck:
    """What registration found when compiling a version (kept as :data:`CHECK_FILE`)."""

    path: str
    """``onnx`` (the graph passed the check) or ``sklearn``."""
    reason: str
    rows: int = 0
    max_abs_diff: float | None = None
    tolerance: float = TOLERANCE
    versions: dict[str, str] | None = None
    """skl2onnx, onnx and onnxruntime versions the check ran with."""
    task: Task = "classification"
    """What was compared: probabilities (Δp), or a regressor's values (Δy)."""

    def describe(self) -> str:
        """One line for ``models show`` and the version tag."""
        if self.path == "onnx":
            delta = "Δy" if self.task == "regression" else "Δp"
            return (f"onnx (max |{delta}| {self.max_abs_diff:.1e} ≤ {self.tolerance:g} on "
                    f"{self.rows} test rows)")
        return f"sklearn ({self.reason})"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> CompileCheck:
        return cls(**json.loads(text))


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("skl2onnx", "onnx", "onnxruntime")}


def _text_columns(frame: pd.DataFrame) -> list[str]:
    """Columns fed to the graph as strings: whatever is not a number or a boolean."""
    return [str(c) for c, values in frame.items()
            if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values))]


def _short(error: BaseException) -> str:
    first = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return text if len(text) <= _REASON_CHARS else text[:_REASON_CHARS - 1] + "…"


def _convert(model: Any, frame: pd.DataFrame) -> bytes:
    """The pipeline as an ONNX graph taking one ``[N, 1]`` input per column of ``frame``."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    text = set(_text_columns(frame))
    types = [(str(c), StringTensorType([None, 1]) if str(c) in text
              else FloatTensorType([None, 1])) for c in frame.columns]
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    # zipmap off: probabilities as one [N, classes] tensor, not a list of dicts per row (a
    # regressor's graph answers one [N, 1] tensor of values and has no such option)
    options = {} if task_of(model) == "regression" else {id(final): {"zipmap": False}}
    graph = to_onnx(model, initial_types=types, options=options)
    return bytes(graph.SerializeToString())


def compile_model(model: Any, test_X: pd.DataFrame) -> tuple[bytes | None, CompileCheck]:
    """Convert ``model`` to ONNX and check it on ``test_X``: (graph, check), the graph None
    where conversion failed or the check did not pass (the check says why)."""
    task = task_of(model)
    if task == "classification" and not hasattr(model, "predict_proba"):
        return None, CompileCheck("sklearn", "the model has no predict_proba")
    if len(test_X) == 0:
        return None, CompileCheck("sklearn", "no test rows to check a conversion on")
    try:
        versions = _versions()
    except ImportError as error:  # an install without the ONNX packages
        return None, CompileCheck("sklearn", f"ONNX packages not installed ({_short(error)})")
    try:
        graph = _convert(model, test_X)
        compiled = CompiledModel(graph)
        ours = compiled.predict_frame(test_X)
    except Exception as error:  # noqa: BLE001 - any converter or runtime error: sklearn serves
        return None, CompileCheck("sklearn", f"conversion failed: {_short(error)}",
                                  versions=versions, task=task)
    theirs = outputs(model, test_X, task)
    tolerance = TOLERANCE
    if task == "regression":  # 32-bit floats: a difference relative to the values' scale
        tolerance *= max(1.0, float(np.nanmax(np.abs(theirs), initial=0.0)))
    diff = float(np.nanmax(np.abs(ours - theirs))) if len(ours) == len(theirs) else float("inf")
    if not np.isfinite(diff) or np.isnan(ours).any() != np.isnan(theirs).any():
        diff = float("inf")
    if diff > tolerance:
        return None, CompileCheck(
            "sklearn", f"the ONNX graph differs from the pipeline by {diff:.2g} > "
            f"{tolerance:g} on the test rows", len(test_X), diff, tolerance, versions, task)
    return graph, CompileCheck("onnx", "checked", len(test_X), diff, tolerance, versions, task)


class CompiledModel:
    """A checked ONNX graph in an onnxruntime session: one number per row (a classifier's
    positive-class probability, a regressor's value) from rows.

    One session per version, single-threaded: measured here on the Titanic graph (rows turned
    into arrays included), one row costs 27 µs of CPU with one thread and 55-116 µs with two,
    64 rows 250 µs against 570-650 µs; handing so little work to a thread pool costs more than
    it saves, and the server's concurrency comes from batching requests, not from splitting one.
    ``run`` releases the GIL and a session may be run from several threads at once.
    """

    def __init__(self, graph: bytes, *, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.columns: list[tuple[str, bool]] = [
            (i.name, i.type == "tensor(string)") for i in self.session.get_inputs()]
        """(column, is text) of each graph input, in the graph's order."""
        outputs = [o.name for o in self.session.get_outputs()]
        self._output = "probabilities" if "probabilities" in outputs else outputs[-1]

    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        answered = self.session.run([self._output], feeds)[0]
        # a classifier's [N, classes] probabilities, or a regressor's [N, 1] values
        column = 1 if self._output == "probabilities" else 0
        return np.asarray(answered[:, column], dtype=np.float64)

    def predict_rows(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Outputs of request rows (a missing or null value is NaN for a
        number, the empty string for a text column, as no category matches either)."""
        feeds: dict[str, np.ndarray] = {}
        for column, text in self.columns:
            values = [row.get(column) for row in rows]
            if text:
                feeds[column] = np.array(["" if v is None else str(v) for v in values],
                                         dtype=object).reshape(-1, 1)
            else:  # None → NaN in a float array; booleans are 0 and 1 as in scikit-learn
                feeds[column] = np.array(values, dtype=np.float32).reshape(-1, 1)
        return self._run(feeds)

    def predict_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Outputs of a frame's rows (batch scoring, the check)."""
        feeds: dict[str, np.ndarray] = {}
        for column, text in self.columns:
            values = frame[column]
            if text:
                feeds[column] = (values.astype(object).where(values.notna(), "").astype(str)
                                 .to_numpy(dtype=object).reshape(-1, 1))
            else:
                feeds[column] = (pd.to_numeric(values, errors="coerce")
                                 .to_numpy(dtype=np.float32, na_value=np.nan).reshape(-1, 1))
        return self._run(feeds)
