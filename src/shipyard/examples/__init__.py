"""Ready example projects: ``shipyard example recommender|titanic DIR``.

Each example is a template folder shipped with the package plus a script that builds its
source database, so a new user has real data to ingest within seconds.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

from shipyard.errors import ConfigError, NotFoundError

__all__ = ["EXAMPLES", "create_example"]

EXAMPLES = {"recommender": "erp.py", "titanic": "source.py"}
"""Example name → the script in its folder that builds the source database."""


def _load(script: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"shipyard_example_{script.stem}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def create_example(name: str, dest: Path, *, customers: int = 1000, months: int = 12,
                   seed: int = 7) -> Path:
    """Copy example ``name`` into the new folder ``dest`` and build its source database.

    Args:
        name: ``recommender`` or ``titanic``.
        dest: A folder that does not exist yet, or is empty.
        customers, months, seed: Size and seed of the recommender's ERP data.
    """
    if name not in EXAMPLES:
        raise NotFoundError(f"unknown example {name!r}; choose one of: {', '.join(EXAMPLES)}")
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(f"{dest} is not empty; pick a new or empty folder for the example")
    template = Path(__file__).parent / name
    shutil.copytree(template, dest, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "lake", ".shipyard"))
    (dest / ".gitignore").write_text("*.db\nlake/\nlake-prod/\n.shipyard/\n")
    script = _load(dest / EXAMPLES[name])
    if name == "recommender":
        script.generate("sqlite:///erp.db", customers_n=customers, months=months, seed=seed)
    else:
        script.build("sqlite:///source.db")
    return dest
