"""Fingerprints of step code: the function and the project-local code it reaches.

A step must re-run when its own code changes *and* when a helper it calls changes, even in
another module of the project; it must not re-run because a library was imported. So the code
of a step is the set of project-local functions, classes and modules reachable from it through
the global names its code uses and its closure, each hashed from its source. Library code
(anything outside the project folder, or in a virtualenv inside it) is not hashed: the
*versions* of the libraries the code reaches go into the key instead (:func:`library_versions`),
so a model trained with an old scikit-learn is not reused after an upgrade.

One :class:`CodeHasher` serves a whole run, so each source is read and hashed once.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import linecache
import platform
import re
import sys
import types
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["CodeHasher", "digest", "library_versions", "stable_json"]

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
        self._visit(func, found, set())
        return dict(sorted(found.items()))

    def libraries(self, func: Any) -> set[str]:
        """Top-level names of the library modules ``func`` and its project code reach."""
        libs: set[str] = set()
        self._visit(func, {}, libs)
        return libs

    def _library(self, obj: Any, libs: set[str]) -> None:
        name = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(
            obj, "__module__", None)
        if isinstance(name, str) and name not in ("__main__", "builtins"):
            libs.add(name.split(".", 1)[0])

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

    def _visit(self, obj: Any, found: dict[str, str], libs: set[str]) -> None:
        if isinstance(obj, functools.partial):
            self._visit(obj.func, found, libs)
            for arg in (*obj.args, *obj.keywords.values()):
                self._visit(arg, found, libs)
            return
        if isinstance(obj, types.MethodType):
            obj = obj.__func__
        if isinstance(obj, types.FunctionType):
            self._visit_function(inspect.unwrap(obj), found, libs)
        elif isinstance(obj, types.ModuleType):
            self._visit_module(obj, found, libs)
        elif isinstance(obj, type):
            self._visit_class(obj, found, libs)

    def _visit_function(self, func: types.FunctionType, found: dict[str, str],
                        libs: set[str]) -> None:
        if not self._is_local(func.__code__.co_filename):
            self._library(func, libs)
            return
        key = f"{func.__module__}:{func.__qualname__}"
        if key in found:
            return
        found[key] = self._hash(key, func)
        for name in _code_names(func.__code__):
            if name in func.__globals__:
                self._visit(func.__globals__[name], found, libs)
        for cell in func.__closure__ or ():
            try:
                self._visit(cell.cell_contents, found, libs)
            except ValueError:  # an empty cell
                continue
        for default in (func.__defaults__ or ()):
            if callable(default):
                self._visit(default, found, libs)

    def _visit_class(self, cls: type, found: dict[str, str], libs: set[str]) -> None:
        module = sys.modules.get(cls.__module__)
        if not self._is_local(getattr(module, "__file__", None)):
            self._library(cls, libs)
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
                        self._visit(member.__globals__[name], found, libs)

    def _visit_module(self, module: types.ModuleType, found: dict[str, str],
                      libs: set[str]) -> None:
        filename = getattr(module, "__file__", None)
        if not self._is_local(filename):
            self._library(module, libs)
            return
        key = f"{module.__name__}:"
        if key in found:
            return
        found[key] = self._hash(key, module)
        # The module's own functions are in its source; what it imports from other project
        # modules is not, so follow those.
        for value in vars(module).values():
            if isinstance(value, types.ModuleType):
                self._visit(value, found, libs)
            elif isinstance(value, types.FunctionType | type):
                own = getattr(value, "__module__", None) == module.__name__
                if not own:
                    self._visit(value, found, libs)

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


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@functools.cache
def _distributions_of(module: str) -> tuple[str, ...]:
    """The distributions that install top-level module ``module`` (none for the stdlib).

    ``importlib.metadata.packages_distributions`` answers this for every module at once but
    reads every installed file list (close to a second), which a cached run must not pay: a
    distribution named like its module is found directly, and only the others (``sklearn``
    from scikit-learn) are looked for, stopping at the first distribution that has it.
    """
    if module in sys.stdlib_module_names:
        return ()
    try:
        return (metadata.distribution(module).metadata["Name"],)
    except metadata.PackageNotFoundError:
        pass
    for dist in metadata.distributions():
        top = dist.read_text("top_level.txt")
        names = top.split() if top else {
            str(f).split("/", 1)[0].removesuffix(".py") for f in dist.files or ()}
        if module in names:
            return (dist.metadata["Name"],)
    return ()


@functools.cache
def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def _requirements(distribution: str) -> tuple[str, ...]:
    """The runtime requirements of an installed distribution (extras left out)."""
    try:
        declared = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return ()
    names = (_REQUIREMENT.match(r) for r in declared if "extra ==" not in r)
    return tuple(sorted({m.group(1).lower() for m in names if m}))


def library_versions(modules: set[str]) -> dict[str, str]:
    """Distribution → version of the libraries behind ``modules`` (top-level module names).

    What a step reaches through Shipyard's own helpers (``shipyard.train`` fits with
    scikit-learn, ``shipyard.recsys`` with implicit) is not seen by the code walk, so a step
    that reaches ``shipyard`` also depends on the versions of Shipyard's requirements.
    Modules of the standard library have no distribution; Python's version stands for them.
    """
    found = {"python": platform.python_version()}
    dists = {d for module in modules for d in _distributions_of(module)}
    for dist in sorted(dists):
        for name in (dist, *(_requirements(dist) if dist.lower() == "shipyard" else ())):
            version = _version(name)
            if version is not None:
                found[name.lower()] = version
    return dict(sorted(found.items()))
