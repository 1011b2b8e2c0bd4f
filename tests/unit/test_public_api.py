"""The public API is exactly ``shipyard.__all__``: nothing private leaks, nothing is missing."""

from __future__ import annotations

import shipyard


def test_all_is_sorted_and_every_name_exists() -> None:
    names = [n for n in shipyard.__all__ if n != "__version__"]
    assert names == sorted(names)
    for name in shipyard.__all__:
        assert hasattr(shipyard, name), name


def test_public_names_are_exported() -> None:
    public = {n for n in dir(shipyard) if not n.startswith("_")}
    # Subpackages imported as a side effect are reachable but not part of __all__.
    modules = {"cli", "config", "db", "errors", "lake", "notify", "project", "faults",
               "tracking", "train", "registry", "pipeline", "examples", "project_template"}
    assert public - modules == set(shipyard.__all__) - {"__version__"}
