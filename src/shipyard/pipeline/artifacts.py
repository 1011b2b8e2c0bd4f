"""Typed storage of step outputs: each supported type in an open format, never a pickle.

A pickle of an arbitrary object runs code when it is loaded and breaks when a library changes,
so step outputs are stored by type: tables as Parquet, arrays as ``.npy``, plain values as JSON;
dicts, tuples and lists of these become a folder with one file per item. Other types are
*artifact types* that the layers above register (:func:`register_artifact_type`):
``shipyard.train`` adds scikit-learn estimators (skops, whose loader refuses unknown types) and
``TrainedModel``. An entry names the module that registered its type, so a process that reads
it back imports that module first. Anything else is refused when the step returns it, naming
the step, the output and the types that are supported.

Heavy libraries are imported only when a value of theirs is met: a value can only be a pandas
DataFrame if pandas is already imported, which keeps a cached re-run free of those imports.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import UnsupportedArtifact

__all__ = ["ArtifactType", "artifact_modules", "import_registering", "instance_of", "load_value",
           "register_artifact_type", "save_value", "supported"]

_BUILTIN = ("pyarrow.Table, pandas.DataFrame, pandas.Series, numpy.ndarray, JSON values (dict, "
            "list, str, int, float, bool, None)")


@dataclass(frozen=True)
class ArtifactType:
    """A type of step output stored by code of a higher layer.

    Attributes:
        kind: Name recorded in the entry (``"sklearn"``, ``"trained"``).
        label: How :func:`supported` names it ("scikit-learn estimators").
        suffix: File or folder name suffix (``".skops"``).
        matches: Whether a value is of this type (must not import a library not loaded).
        save: Writes the value to a path: ``save(value, path, where)``.
        load: Reads it back: ``load(path)``.
    """

    kind: str
    label: str
    suffix: str
    matches: Callable[[Any], bool]
    save: Callable[[Any, Path, str], None]
    load: Callable[[Path], Any]


_TYPES: dict[str, ArtifactType] = {}


def register_artifact_type(artifact: ArtifactType) -> None:
    """Make step outputs of ``artifact``'s type storable (called when its module is imported)."""
    _TYPES[artifact.kind] = artifact


def artifact_modules() -> tuple[str, ...]:
    """The modules that registered artifact types here; a worker process imports them too."""
    return tuple(sorted({t.load.__module__ for t in _TYPES.values()}))


def import_registering(module: str) -> None:
    """Import ``module``, named by a stored entry or a task, so that it registers its artifact
    types. Only Shipyard's own modules register types, and only they are imported: a cache
    entry or a task cannot make a process run any other module's code. (A name rather than an
    import: the registering modules are in layers above this one.)"""
    if module != "shipyard" and not module.startswith("shipyard."):
        raise UnsupportedArtifact(f"artifact type of module {module!r}: only Shipyard's own "
                                  "modules register artifact types; re-run with --no-cache")
    importlib.import_module(module)


def supported() -> str:
    """The types a step output may have, for error messages."""
    named = ", ".join([_BUILTIN, *(t.label for t in _TYPES.values())])
    return f"{named}, and dicts, tuples or lists of these"

_TUPLE = "__tuple__"
_NOT_JSON = object()
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def instance_of(value: Any, module: str, name: str) -> bool:
    """``isinstance(value, module.name)`` without importing ``module`` when it is not loaded."""
    loaded = sys.modules.get(module)
    cls = getattr(loaded, name, None) if loaded is not None else None
    return cls is not None and isinstance(value, cls)


def _json_plain(value: Any) -> Any:
    """The value as JSON-ready data (tuples tagged so they load back as tuples), or raise."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if instance_of(value, "numpy", "generic") and not instance_of(value, "numpy", "ndarray"):
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
        UnsupportedArtifact: the type is not supported (or, for a registered type, e.g. an
            estimator holding untrusted types, cannot be stored safely).
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
    if instance_of(value, "pyarrow", "Table"):
        path = folder / f"{stem}.parquet"
        _write_parquet(value, path)
        return {"kind": "arrow", "path": path.name}
    if instance_of(value, "pandas", "DataFrame"):
        path = folder / f"{stem}.parquet"
        _write_frame(value, path, where)
        return {"kind": "pandas", "path": path.name}
    if instance_of(value, "pandas", "Series"):
        path = folder / f"{stem}.parquet"
        _write_frame(value.to_frame(name="value"), path, where)
        name_plain = _json_plain(value.name) if isinstance(value.name, str | int | None) else None
        return {"kind": "series", "path": path.name, "name": name_plain}
    if instance_of(value, "numpy", "ndarray"):
        import numpy as np

        path = folder / f"{stem}.npy"
        try:
            np.save(path, value, allow_pickle=False)
        except ValueError:
            raise UnsupportedArtifact(
                f"{where}: a NumPy array of dtype {value.dtype} (Python objects) cannot be "
                f"stored without pickling; convert it to a numeric array or a DataFrame"
            ) from None
        return {"kind": "numpy", "path": path.name}
    for artifact in _TYPES.values():
        if artifact.matches(value):
            path = folder / f"{stem}{artifact.suffix}"
            artifact.save(value, path, where)
            return {"kind": artifact.kind, "path": path.name,
                    "module": artifact.load.__module__}
    if isinstance(value, dict | tuple | list):
        return _save_container(value, folder / stem, where)
    raise UnsupportedArtifact(
        f"{where}: cannot store a {type(value).__module__}.{type(value).__qualname__}. "
        f"Supported types: {supported()}. Return one of these (e.g. a dict of DataFrames)."
    )


def _write_frame(frame: Any, path: Path, where: str) -> None:
    import pyarrow as pa

    try:
        table = pa.Table.from_pandas(frame, preserve_index=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as error:
        raise UnsupportedArtifact(
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


def _save_container(value: dict[Any, Any] | tuple[Any, ...] | list[Any], folder: Path,
                    where: str) -> dict[str, Any]:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    folder.mkdir()
    entries = []
    for index, (key, item) in enumerate(items):
        if isinstance(value, dict) and not isinstance(key, str):
            raise UnsupportedArtifact(
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
    if kind not in _TYPES and entry.get("module"):
        import_registering(entry["module"])
    if kind in _TYPES:
        return _TYPES[kind].load(path)
    if kind in ("dict", "tuple", "list"):
        values = [(item["key"], load_value(item, path)) for item in entry["items"]]
        if kind == "dict":
            return dict(values)
        return tuple(v for _, v in values) if kind == "tuple" else [v for _, v in values]
    raise UnsupportedArtifact(f"{path}: unknown artifact kind {kind!r}; re-run with --no-cache")
