"""Fingerprints of step code: the function and the project-local code it reaches.

A step must re-run when its own code changes *and* when a helper it calls changes, even in
another module of the project; it must not re-run because a library was imported. So the code
of a step is the set of project-local functions, classes and modules reachable from it through
the global names its code uses and its closure, each hashed from its source. Library code
(anything outside the project folder, or in a virtualenv inside it) is left out: its version
is part of the run's environment record instead.

One :class:`CodeHasher` serves a whole run, so each source is read and hashed once.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import linecache
import sys
import types
from pathlib import Path
from typing import Any

__all__ = ["CodeHasher", "digest", "stable_json"]

_SKIP_DIRS = frozenset({"site-packages", "dist-packages", ".venv", "venv", "__pycache__"})


def stable_json(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) so equal values always hash equal."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)


def digest(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _code_names(code: types.CodeType) -> set[str]:
    """Global names a code object and its nested code (lambdas, inner functions) use."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


class CodeHasher:
    """Maps a step function to ``{qualified name: source hash}`` of the code it depends on."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._local_files: dict[str, bool] = {}
        self._hashes: dict[str, str] = {}
        linecache.checkcache()  # a source edited since the last run must be read again

    def manifest(self, func: Any) -> dict[str, str]:
        """Qualified name → hash of every project-local object ``func`` depends on."""
        found: dict[str, str] = {}
        self._visit(func, found)
        return dict(sorted(found.items()))

    def _is_local(self, filename: str | None) -> bool:
        if not filename:
            return False
        if filename not in self._local_files:
            path = Path(filename).resolve()
            local = path.is_relative_to(self.root) and not (
                _SKIP_DIRS & set(path.relative_to(self.root).parts[:-1])
            )
            self._local_files[filename] = local
        return self._local_files[filename]

    def _visit(self, obj: Any, found: dict[str, str]) -> None:
        if isinstance(obj, functools.partial):
            self._visit(obj.func, found)
            for arg in (*obj.args, *obj.keywords.values()):
                self._visit(arg, found)
            return
        if isinstance(obj, types.MethodType):
            obj = obj.__func__
        if isinstance(obj, types.FunctionType):
            self._visit_function(inspect.unwrap(obj), found)
        elif isinstance(obj, types.ModuleType):
            self._visit_module(obj, found)
        elif isinstance(obj, type):
            self._visit_class(obj, found)

    def _visit_function(self, func: types.FunctionType, found: dict[str, str]) -> None:
        if not self._is_local(func.__code__.co_filename):
            return
        key = f"{func.__module__}:{func.__qualname__}"
        if key in found:
            return
        found[key] = self._hash(key, func)
        for name in _code_names(func.__code__):
            if name in func.__globals__:
                self._visit(func.__globals__[name], found)
        for cell in func.__closure__ or ():
            try:
                self._visit(cell.cell_contents, found)
            except ValueError:  # an empty cell
                continue
        for default in (func.__defaults__ or ()):
            if callable(default):
                self._visit(default, found)

    def _visit_class(self, cls: type, found: dict[str, str]) -> None:
        module = sys.modules.get(cls.__module__)
        if not self._is_local(getattr(module, "__file__", None)):
            return
        key = f"{cls.__module__}:{cls.__qualname__}"
        if key in found:
            return
        found[key] = self._hash(key, cls)
        for attribute in vars(cls).values():
            member = attribute.__func__ if isinstance(attribute, staticmethod | classmethod) else attribute
            if isinstance(member, types.FunctionType):
                for name in _code_names(member.__code__):
                    if name in member.__globals__:
                        self._visit(member.__globals__[name], found)

    def _visit_module(self, module: types.ModuleType, found: dict[str, str]) -> None:
        filename = getattr(module, "__file__", None)
        if not self._is_local(filename):
            return
        key = f"{module.__name__}:"
        if key in found:
            return
        found[key] = self._hash(key, module)
        # The module's own functions are in its source; what it imports from other project
        # modules is not, so follow those.
        for value in vars(module).values():
            if isinstance(value, types.ModuleType):
                self._visit(value, found)
            elif isinstance(value, types.FunctionType | type):
                own = getattr(value, "__module__", None) == module.__name__
                if not own:
                    self._visit(value, found)

    def _hash(self, key: str, obj: Any) -> str:
        if key not in self._hashes:
            try:
                source = inspect.getsource(obj)
            except (OSError, TypeError):
                # No source (defined in a REPL): fall back to the compiled code.
                code = getattr(obj, "__code__", None)
                source = repr((code.co_code, code.co_consts)) if code else repr(obj)
            self._hashes[key] = digest(source)
        return self._hashes[key]
