"""Typed storage of step outputs: each supported type in an open format, never a pickle.

A pickle of an arbitrary object runs code when it is loaded and breaks when a library changes,
so step outputs are stored by type: tables as Parquet, arrays as ``.npy``, plain values as JSON,
scikit-learn estimators with skops (whose loader refuses unknown types), ``TrainedModel`` with
its own ``save``; dicts, tuples and lists of these become a folder with one file per item.
Anything else is refused when the step returns it, naming the step, the output and the types
that are supported.

Heavy libraries are imported only when a value of theirs is met: a value can only be a pandas
DataFrame if pandas is already imported, which keeps a cached re-run free of those imports.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from shipyard.errors import PipelineError

__all__ = ["SUPPORTED", "load_value", "save_value"]

SUPPORTED = (
    "pyarrow.Table, pandas.DataFrame, pandas.Series, numpy.ndarray, JSON values (dict, list, "
    "str, int, float, bool, None), scikit-learn estimators, shipyard TrainedModel, and "
    "dicts, tuples or lists of these"
)
_TUPLE = "__tuple__"
_NOT_JSON = object()
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _module_type(value: Any, module: str, name: str) -> bool:
    """``isinstance(value, module.name)`` without importing ``module`` when it is not loaded."""
    loaded = sys.modules.get(module)
    cls = getattr(loaded, name, None) if loaded is not None else None
    return cls is not None and isinstance(value, cls)


def _json_plain(value: Any) -> Any:
    """The value as JSON-ready data (tuples tagged so they load back as tuples), or raise."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if _module_type(value, "numpy", "generic") and not _module_type(value, "numpy", "ndarray"):
        return _json_plain(value.item())
    if isinstance(value, list):
        return [_json_plain(v) for v in value]
    if isinstance(value, tuple):
        return {_TUPLE: [_json_plain(v) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_plain(v) for k, v in value.items()}
    raise TypeError(type(value).__name__)


def _json_restore(data: Any) -> Any:
    if isinstance(data, list):
        return [_json_restore(v) for v in data]
    if isinstance(data, dict):
        if set(data) == {_TUPLE}:
            return tuple(_json_restore(v) for v in data[_TUPLE])
        return {k: _json_restore(v) for k, v in data.items()}
    return data


def _is_estimator(value: Any) -> bool:
    return _module_type(value, "sklearn.base", "BaseEstimator")


def _is_trained(value: Any) -> bool:
    return _module_type(value, "shipyard.train.trained", "TrainedModel")


def save_value(value: Any, folder: Path, name: str, *, where: str) -> dict[str, Any]:
    """Write ``value`` under ``folder`` as ``name.<ext>`` and describe how to load it back.

    Args:
        value: What the step returned.
        folder: Where the output's files go (the step's staging folder).
        name: File name stem, e.g. the output name.
        where: "step 'prepare' output 'dataset'", for error messages.

    Returns:
        An entry ``{"kind": ..., "path": ...}`` (relative to ``folder``) for :func:`load_value`.

    Raises:
        PipelineError: the type is not supported, or an estimator holds untrusted types.
    """
    stem = _SAFE.sub("_", name) or "value"
    try:
        plain = _json_plain(value)
    except TypeError:
        plain = _NOT_JSON
    if plain is not _NOT_JSON:
        path = folder / f"{stem}.json"
        path.write_text(json.dumps(plain, allow_nan=True))
        return {"kind": "json", "path": path.name}
    if _module_type(value, "pyarrow", "Table"):
        path = folder / f"{stem}.parquet"
        _write_parquet(value, path)
        return {"kind": "arrow", "path": path.name}
    if _module_type(value, "pandas", "DataFrame"):
        path = folder / f"{stem}.parquet"
        _write_frame(value, path, where)
        return {"kind": "pandas", "path": path.name}
    if _module_type(value, "pandas", "Series"):
        path = folder / f"{stem}.parquet"
        _write_frame(value.to_frame(name="value"), path, where)
        name_plain = _json_plain(value.name) if isinstance(value.name, str | int | None) else None
        return {"kind": "series", "path": path.name, "name": name_plain}
    if _module_type(value, "numpy", "ndarray"):
        import numpy as np

        path = folder / f"{stem}.npy"
        try:
            np.save(path, value, allow_pickle=False)
        except ValueError:
            raise PipelineError(
                f"{where}: a NumPy array of dtype {value.dtype} (Python objects) cannot be "
                f"stored without pickling; convert it to a numeric array or a DataFrame"
            ) from None
        return {"kind": "numpy", "path": path.name}
    if _is_trained(value):
        path = folder / f"{stem}.trained"
        path.mkdir()
        value.save(path)
        return {"kind": "trained", "path": path.name}
    if _is_estimator(value):
        return _save_estimator(value, folder / f"{stem}.skops", where)
    if isinstance(value, dict | tuple | list):
        return _save_container(value, folder / stem, where)
    raise PipelineError(
        f"{where}: cannot store a {type(value).__module__}.{type(value).__qualname__}. "
        f"Supported types: {SUPPORTED}. Return one of these (e.g. a dict of DataFrames)."
    )


def _write_frame(frame: Any, path: Path, where: str) -> None:
    import pyarrow as pa

    try:
        table = pa.Table.from_pandas(frame, preserve_index=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as error:
        raise PipelineError(
            f"{where}: the DataFrame cannot be stored as Parquet ({error}); give its columns "
            f"one type each (e.g. df[col].astype(str))"
        ) from None
    _write_parquet(table, path)


def _write_parquet(table: Any, path: Path) -> None:
    """Parquet with dictionary encoding only where it pays (text columns): trying it on
    numbers doubles the write time of a large numeric table for no gain in size."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    textual = [f.name for f in table.schema
               if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
               or pa.types.is_dictionary(f.type) or pa.types.is_binary(f.type)
               or getattr(pa.types, "is_string_view", lambda _: False)(f.type)]
    pq.write_table(table, path, use_dictionary=textual or False)


def _save_estimator(value: Any, path: Path, where: str) -> dict[str, Any]:
    from shipyard.train.persist import dump_estimator

    dump_estimator(value, path, where=where)
    return {"kind": "sklearn", "path": path.name}


def _save_container(value: dict[Any, Any] | tuple[Any, ...] | list[Any], folder: Path,
                    where: str) -> dict[str, Any]:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    folder.mkdir()
    entries = []
    for index, (key, item) in enumerate(items):
        if isinstance(value, dict) and not isinstance(key, str):
            raise PipelineError(
                f"{where}: dict keys must be strings to be stored, got {key!r}; "
                f"use str(key) when building the dict"
            )
        label = f"{where}[{key!r}]"
        entry = save_value(item, folder, f"{index:03d}-{key}", where=label)
        entries.append({"key": key, **entry})
    return {"kind": type(value).__name__, "path": folder.name, "items": entries}


def load_value(entry: dict[str, Any], folder: Path) -> Any:
    """Read back a value stored by :func:`save_value` from ``folder``."""
    kind = entry["kind"]
    path = folder / entry["path"]
    if kind == "json":
        return _json_restore(json.loads(path.read_text()))
    if kind == "arrow":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    if kind == "pandas":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pandas()
    if kind == "series":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pandas()["value"].rename(entry.get("name"))
    if kind == "numpy":
        import numpy as np

        return np.load(path, allow_pickle=False)
    if kind == "trained":
        from shipyard.train.trained import TrainedModel

        return TrainedModel.load(path)
    if kind == "sklearn":
        from shipyard.train.persist import load_estimator

        return load_estimator(path)
    if kind in ("dict", "tuple", "list"):
        values = [(item["key"], load_value(item, path)) for item in entry["items"]]
        if kind == "dict":
            return dict(values)
        return tuple(v for _, v in values) if kind == "tuple" else [v for _, v in values]
    raise PipelineError(f"{path}: unknown artifact kind {kind!r}; re-run with --no-cache")
