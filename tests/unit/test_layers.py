"""The lifecycle's order is the import order, and the tool that holds it sees every package."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "shipyard"


def _contract() -> dict[str, Any]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return next(c for c in config["contracts"] if c["type"] == "layers")


def _layers() -> list[set[str]]:
    return [{name.strip(" ()") for name in re.split(r"[|:]", layer)}
            for layer in _contract()["layers"]]


def test_every_module_of_shipyard_has_a_place_in_the_layers() -> None:
    packages = {p.stem if p.is_file() else p.name for p in SRC.iterdir()
                if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.name != "__init__.py"}
    placed = set().union(*_layers())
    assert packages <= placed, "add new modules to [tool.importlinter]"
    # and lint-imports says so itself when one is left out
    assert _contract()["containers"] == ["shipyard"] and _contract()["exhaustive"] is True


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
