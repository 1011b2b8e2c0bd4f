"""Package exports imported on first use (PEP 562).

A package's ``__init__`` that imports its modules makes every import of any of its modules pay
for all of them: ``shipyard serve`` imports ``shipyard.monitoring.logschema`` and
``shipyard.train.compiled``, and an eager ``__init__`` would load SciPy, DuckDB and Optuna with
them, which a server never uses (and a serve-only image does not have). Such a package names
where each export lives, and the module is imported when the name is first read.

A name that is also one of the package's modules (``shipyard.train.split``) cannot be lazy:
importing that module from anywhere binds the module to the name, and ``from shipyard.train
import split`` would get the module. The package imports those itself (keeping their modules
light), and :func:`exports` refuses them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any

__all__ = ["exports"]


def exports(package: str, where: dict[str, str]) -> tuple[Callable[[str], Any],
                                                          Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, whose exports are ``{name: module}``."""
    namespace = sys.modules[package].__dict__
    shadowed = [name for name, module in where.items() if module == f"{package}.{name}"]
    if shadowed:
        raise ImportError(f"{package}: {', '.join(shadowed)} would be shadowed by the module "
                          f"of the same name; import them in {package}/__init__.py instead")

    def __getattr__(name: str) -> Any:
        if name in where:
            value = getattr(import_module(where[name]), name)
            namespace[name] = value  # later lookups skip this function
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
