"""The public API is exactly ``shipyard.__all__``: nothing private leaks, nothing is missing."""

from __future__ import annotations

from types import ModuleType

import shipyard


def test_all_is_sorted_and_every_name_exists() -> None:
    names = [n for n in shipyard.__all__ if n != "__version__"]
    assert names == sorted(names)
    for name in shipyard.__all__:
        assert hasattr(shipyard, name), name


def test_public_names_are_exported() -> None:
    # Subpackages imported as a side effect are reachable but not part of __all__.
    public = {n for n in dir(shipyard)
              if not n.startswith("_") and not isinstance(getattr(shipyard, n), ModuleType)}
    assert public == set(shipyard.__all__) - {"__version__"}


def test_the_public_runner_is_the_one_with_the_project_hooks() -> None:
    # shipyard.run_pipeline(...).registered is documented: it registers, records in MLflow
    # and alerts, which the bare runner (shipyard.pipeline.run_with_hooks) leaves to hooks.
    from shipyard.pipeline import run_with_hooks as bare
    from shipyard.runs import run_pipeline as wired

    assert shipyard.run_pipeline is wired and wired is not bare
