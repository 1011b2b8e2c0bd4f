"""Ready example projects: ``shipyard example recommender|titanic DIR``.

Each example is a template folder shipped with the package (``shipyard.yaml``, a README and
the script that builds its source database). :func:`create_example` copies it into a new
folder and runs that script there, so a new user has real data to ingest within seconds, and
the tests and the demo exercise exactly what a user gets.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

from shipyard.errors import ConfigError, NotFoundError

__all__ = ["EXAMPLES", "create_example"]

EXAMPLES: dict[str, str] = {"recommender": "erp.py", "titanic": "source.py"}
"""Example name → the script in its folder that builds the source database."""

_NOT_COPIED = ("__pycache__", "*.pyc", "*.db", "*.db-*", "lake", "lake-prod", ".shipyard")
_GITIGNORE = "*.db\n*.db-*\nlake/\nlake-prod/\n.shipyard/\n__pycache__/\n"


def _load(script: Path) -> ModuleType:
    """Import the script copied into the project, so its relative URLs resolve there.

    Importing (rather than running a subprocess) saves an interpreter start-up; the module is
    not registered in ``sys.modules`` so that two projects never share one copy.
    """
    spec = importlib.util.spec_from_file_location(f"_shipyard_example_{script.stem}", script)
    if spec is None or spec.loader is None:  # pragma: no cover - the file was just copied
        raise NotFoundError(f"cannot import {script}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def create_example(
    name: str,
    dest: Path,
    *,
    customers: int | None = None,
    products: int | None = None,
    months: int | None = None,
    seed: int = 7,
) -> Path:
    """Copy example ``name`` into ``dest`` and build its source database there.

    The recommender gets ``erp.db`` (the ERP simulator's tables), the titanic example
    ``source.db`` (the real passenger list).

    Args:
        name: ``recommender`` or ``titanic``.
        dest: A folder that does not exist yet, or is empty; it is never overwritten, because
            an example written over a real project would destroy it.
        customers, products, months: Size of the recommender's ERP history (default: the
            simulator's own, 1,000 customers, 300 products, 12 months); ignored by titanic.
        seed: Random seed of the ERP data; the same seed gives the same rows.

    Returns:
        ``dest``, ready for ``shipyard ingest``.

    Raises:
        NotFoundError: ``name`` is not a known example.
        ConfigError: ``dest`` exists and is not an empty folder.
    """
    if name not in EXAMPLES:
        raise NotFoundError(
            f"unknown example {name!r}; known examples: {', '.join(sorted(EXAMPLES))}"
        )
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConfigError(
            f"{dest} already exists and is not an empty folder; pick an empty (or new) folder "
            f"for the example, so that nothing in it is overwritten"
        )
    template = Path(__file__).parent / name
    shutil.copytree(template, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*_NOT_COPIED))
    (dest / ".gitignore").write_text(_GITIGNORE)
    script = _load(dest / EXAMPLES[name])
    if name == "recommender":
        sizes = {"customers": customers, "products": products, "months": months}
        script.generate(
            script.DEFAULT_URL, seed=seed, **{k: v for k, v in sizes.items() if v is not None}
        )
    else:
        script.build(script.DEFAULT_URL)
    return dest
