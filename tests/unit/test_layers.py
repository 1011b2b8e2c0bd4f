"""The lifecycle's order is the import order, and the tool that holds it sees every package."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "shipyard"
OUTSIDE_THE_ORDER = {"_version", "__main__", "faults", "project_template", "examples"}
"""Leaves every layer may use (the version, fault injection points) and the shipped
example projects, which are user code built on the whole library."""


def _layers() -> list[set[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    return [{name.strip(" ()").removeprefix("shipyard.") for name in re.split(r"[|:]", layer)}
            for layer in contract["layers"]]


def test_every_package_of_shipyard_has_a_place_in_the_layers() -> None:
    packages = {p.stem if p.is_file() else p.name for p in SRC.iterdir()
                if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.name != "__init__.py"}
    placed = set().union(*_layers())
    assert packages - OUTSIDE_THE_ORDER <= placed, "add new packages to [tool.importlinter]"


def test_the_order_is_the_lifecycle() -> None:
    order = [sorted(layer) for layer in _layers()]
    position = {name: i for i, layer in enumerate(order) for name in layer}
    lifecycle = ["cli", "serving", "batch", "registry", "recsys", "train", "pipeline",
                 "tracking", "lake", "notify", "db", "errors"]
    assert [position[name] for name in lifecycle] == sorted(position[n] for n in lifecycle)


def test_the_import_contract_holds_inside_functions_too() -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_runner_calls_registry_notify_and_mlflow_only_through_hooks() -> None:
    outward = re.compile(r"shipyard\.registry|shipyard\.notify|mlflow")
    found = [f"{path.relative_to(SRC)}:{n}" for path in (SRC / "pipeline").rglob("*.py")
             for n, line in enumerate(path.read_text().splitlines(), 1) if outward.search(line)]
    assert found == []
