"""Import a project's pipeline (``module:function`` in shipyard.yaml) fresh from its folder.

The project folder is not an installed package, so it is put first on ``sys.path``. Modules
imported from it before (an earlier run in the same process, or another project with modules
of the same names) are dropped first: a run must execute, and fingerprint, the code that is on
disk now. Dask workers call :func:`import_function` for the same reason, once per run.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import PipelineDefinitionError, PipelineError
from shipyard.pipeline.dag import Pipeline

if TYPE_CHECKING:
    from shipyard.config.schema import PipelineConfig
    from shipyard.project import Project

__all__ = [
    "check_param_inputs",
    "coerce_param",
    "import_function",
    "load_pipeline",
    "pipeline_config",
    "prepare_imports",
    "resolve_params",
]

_loaded_for: dict[str, str] = {}
"""Project folder → token of the run its modules were last imported for (per process)."""


def pipeline_config(project: Project, name: str) -> PipelineConfig:
    """The declaration of pipeline ``name``, or an error listing the declared ones."""
    pipelines = project.config.pipelines
    if name not in pipelines:
        known = ", ".join(sorted(pipelines)) or "none"
        raise PipelineError(
            f"unknown pipeline {name!r}; {project.root / 'shipyard.yaml'} declares: {known}. "
            f"Declare it under 'pipelines:' with function: \"module:function\"."
        )
    return pipelines[name]


def _inside(module: Any, root: Path) -> bool:
    # A string prefix test: resolving the path of each of thousands of loaded modules on
    # every run would cost more than the rest of a cached run.
    filename = getattr(module, "__file__", None)
    return isinstance(filename, str) and filename.startswith(f"{root}{os.sep}")


def prepare_imports(root: Path, token: str, module: str) -> None:
    """Make ``root`` importable and forget its modules if they were imported for another run.

    Args:
        root: The project folder.
        token: Identifies the code version (the run id); same token, nothing is re-imported.
        module: The module about to be imported; a module of that name from elsewhere goes too.
    """
    root = root.resolve()
    key = str(root)
    if key in sys.path:
        sys.path.remove(key)
    sys.path.insert(0, key)
    top = module.split(".", 1)[0]
    foreign = sys.modules.get(top)
    if foreign is not None and not _inside(foreign, root):
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[name]
    if _loaded_for.get(key) == token:
        return
    # Another project loaded in this process before (tests, a server, a shared Dask worker)
    # may have modules of the same names, e.g. its own helpers.py: forget them all.
    stale = [root, *(Path(other) for other in _loaded_for if other != key)]
    for other in stale[1:]:
        if str(other) in sys.path:
            sys.path.remove(str(other))
        del _loaded_for[str(other)]
    for name, loaded in list(sys.modules.items()):
        if any(_inside(loaded, folder) for folder in stale):
            del sys.modules[name]
    importlib.invalidate_caches()
    _loaded_for[key] = token


def _import(root: Path, module: str, where: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name and error.name.split(".", 1)[0] == module.split(".", 1)[0]:
            raise PipelineDefinitionError(
                f"{where}: module {module!r} not found in {root}; create "
                f"{root / (module.replace('.', '/') + '.py')} or fix the module name"
            ) from None
        raise PipelineDefinitionError(f"{where}: importing {module!r} failed: {error}\n"
                                      f"{traceback.format_exc()}") from None
    except Exception as error:  # noqa: BLE001 - any import error of user code, with its traceback
        raise PipelineDefinitionError(f"{where}: importing {module!r} failed: {error}\n"
                                      f"{traceback.format_exc()}") from None


def import_function(root: Path, module: str, qualname: str, *, token: str,
                    where: str = "step") -> Callable[..., Any]:
    """Import ``module`` from the project and return the object at ``qualname`` in it."""
    prepare_imports(root, token, module)
    obj: Any = _import(root, module, where)
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PipelineDefinitionError(f"{where}: {module}.py has no {qualname!r}") from None
    return obj


def load_pipeline(project: Project, name: str, *, token: str) -> Pipeline:
    """Call the function declared in ``pipelines.<name>.function`` and check what it returns."""
    config = pipeline_config(project, name)
    module, _, function = config.function.partition(":")
    where = f"pipelines.{name}.function ({config.function})"
    factory = import_function(project.root, module, function, token=token, where=where)
    if not callable(factory):
        raise PipelineDefinitionError(f"{where}: {function!r} is not a function")
    built = factory()
    if not isinstance(built, Pipeline):
        raise PipelineDefinitionError(
            f"{where}: returned {type(built).__name__}, expected a Pipeline; "
            f"end it with 'return Pipeline([step(...), ...])'"
        )
    return built


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_KIND = {bool: "a boolean (true or false)", int: "an integer", float: "a float", str: "a string",
         list: "a list, e.g. [1, 2]", dict: "a mapping, e.g. {a: 1}"}


def coerce_param(name: str, default: Any, value: Any) -> Any:
    """``value`` (a CLI string, or a Python value) as the type of the declared ``default``.

    Raises:
        PipelineError: "params.test_size: expected a float, got 'abc'".
    """
    expected = type(default)
    if default is None:
        return _yaml(value) if isinstance(value, str) else value
    if expected not in _KIND:
        return value
    bad = PipelineError(f"params.{name}: expected {_KIND[expected]}, got {value!r}")
    if not isinstance(value, str):
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if type(value) is not expected:
            raise bad
        return value
    text = value.strip()
    try:
        if expected is bool:
            if text.lower() not in _TRUE | _FALSE:
                raise bad
            return text.lower() in _TRUE
        if expected is int:
            return int(text)
        if expected is float:
            return float(text)
        if expected is str:
            return value
        parsed = _yaml(text)
    except ValueError:
        raise bad from None
    if not isinstance(parsed, expected):
        raise bad
    return parsed


def _yaml(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def resolve_params(pipeline: str, declared: dict[str, Any],
                   overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The declared ``pipelines.<name>.params`` with ``overrides`` applied and type-checked.

    An override of a parameter that is not declared is refused: a typo must not run a
    pipeline with the default silently.
    """
    values = dict(declared)
    for name, value in (overrides or {}).items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise PipelineError(
                f"params.{name}: not declared in pipelines.{pipeline}.params (declared: {known}); "
                f"declare it there with a default"
            )
        values[name] = coerce_param(name, declared[name], value)
    return values


def check_param_inputs(pipeline: str, built: Pipeline, params: dict[str, Any]) -> None:
    """Every ``params:<name>`` a step reads must be declared."""
    for s in built.steps:
        for argument, source in s.inputs.items():
            if source.kind == "param" and source.name not in params:
                known = ", ".join(sorted(params)) or "none"
                raise PipelineDefinitionError(
                    f"Step {s.name!r} reads {source.text!r} (argument {argument!r}), but "
                    f"pipelines.{pipeline}.params does not declare {source.name!r} "
                    f"(declared: {known}); add it with a default value"
                )
