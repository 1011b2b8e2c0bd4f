"""``deploy/requirements.lock``: what the image and the workflows install, pinned and hashed.

It is made from what Shipyard declares (its ``Requires-Dist``) at the versions of Shipyard's
``constraints.txt`` (the set its suite ran with), plus the project's ``deploy.requirements``,
resolved for the image (CPython 3.11 on Debian 12, x86-64) by pip against its index, and each
line carries the SHA-256 of the file pip chose: with one hash in a requirements file pip
installs in hash-checking mode, so a file swapped on the index (or a mirror) fails the build.
Nothing comes from what happens to be installed where ``deploy build`` runs, except when
Shipyard is not a source tree (no ``constraints.txt`` to read): then the installed versions
stand in for it, and the file says so.

``requirements-serve.lock`` is the same for the serve-only image: Shipyard's ``serve`` extra
(what ``shipyard serve`` imports, a subset of its dependencies) in place of all of them.

What Shipyard declares is read from its source tree's ``pyproject.toml`` when it runs from one
(an editable install's metadata is as old as the install), else from its installed metadata.

Resolving needs the index once (about half a minute); the result is cached by its inputs in
``~/.cache/shipyard/locks``. Offline with no cached resolution, the file is written without
hashes and says why on its first lines.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from shipyard._version import __version__
from shipyard.config.schema import ProjectConfig

__all__ = ["PLATFORMS", "SERVE", "lock"]

# The image's platform, most specific first (Debian 12's glibc is 2.36), as pip's --platform.
PLATFORMS = (*(f"manylinux_2_{minor}_x86_64" for minor in range(36, 16, -1)),
             "manylinux2014_x86_64", "linux_x86_64")
_PYTHON = "3.11"
SERVE = "serve"
"""Shipyard's extra that lists what serving needs: the serve-only image's dependencies."""


def _cache() -> Path:
    """Where resolutions are kept: the user's cache, read from the environment when used (so a
    process that imported this module earlier still honours ``XDG_CACHE_HOME``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "shipyard" / "locks"


def lock(config: ProjectConfig, generated: str, *, serve: bool = False) -> str:
    """The lock file's text; ``generated`` is the header every generated file carries.
    ``serve``: only what serving needs (Shipyard's ``serve`` extra), for the serve-only image."""
    declared = _declared(SERVE if serve else "")
    requirements = [*declared, *config.deploy.requirements]
    constraints, source = _constraints()
    pins, why_not = _resolve(requirements, constraints)
    what = (f"serving dependencies (its '{SERVE}' extra)" if serve else "dependencies")
    lines = [f"# {generated}",
             (f"# Shipyard {__version__}'s {what} at the versions of {source}, and "
             f"deploy.requirements of shipyard.yaml,"),
             f"# resolved for CPython {_PYTHON} on linux x86-64 (the image's platform)."]
    if pins is None:
        # names only: versions are the pins'
        names = {n for r in map(Requirement, declared)
                 for n in _closure(r.name, frozenset(r.extras))} - {"shipyard"}
        lines += [(f"# NO HASHES: {why_not}; run 'shipyard deploy build' again where the index "
                  "is reachable."),
                  *(f"{name}=={version}" for name, version in sorted(constraints.items())
                    if name in names),
                  *config.deploy.requirements]
    else:
        lines += [f"{name}=={version} \\\n    --hash=sha256:{digest}"
                  for name, (version, digest) in sorted(pins.items())]
    return "\n".join(lines) + "\n"


def _declared(extra: str) -> list[str]:
    """What Shipyard requires with ``extra`` ("": its dependencies), as declared (not as
    installed): the source tree's pyproject.toml where there is one, else its metadata."""
    import shipyard

    pyproject = Path(shipyard.__file__).resolve().parents[2] / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text())["project"]
        return list(project["optional-dependencies"][extra] if extra
                    else project["dependencies"])
    found = []
    for text in metadata.requires("shipyard") or []:
        requirement = Requirement(text)
        marker = requirement.marker
        base = marker is None or marker.evaluate({"extra": ""})
        if not extra and base:
            found.append(text)
        elif extra and not base and marker is not None and marker.evaluate({"extra": extra}):
            requirement.marker = None  # the extra's marker: pip would read it as not wanted
            found.append(str(requirement))
    return found


def _constraints() -> tuple[dict[str, str], str]:
    """Shipyard's constraints.txt (a source tree's), else the installed closure, and which."""
    import shipyard

    path = Path(shipyard.__file__).resolve().parents[2] / "constraints.txt"
    if path.is_file():
        pins = dict(line.split("==", 1) for line in path.read_text().splitlines()
                    if "==" in line and not line.startswith("#"))
        return ({_canonical(k): v.strip() for k, v in pins.items()
                 if _canonical(k) != "shipyard"}, "Shipyard's constraints.txt")
    closure = _closure("shipyard")
    closure.pop("shipyard", None)
    return closure, "the packages installed with Shipyard here (no constraints.txt shipped)"


def _resolve(requirements: list[str], constraints: dict[str, str]
             ) -> tuple[dict[str, tuple[str, str]] | None, str]:
    """{name: (version, sha256)} as pip resolves them for the image's platform (cached), or
    None and why not."""
    inputs = json.dumps([requirements, sorted(constraints.items()), PLATFORMS, _PYTHON])
    cached = _cache() / f"{hashlib.sha256(inputs.encode()).hexdigest()}.json"
    if cached.is_file():
        return {k: tuple(v) for k, v in json.loads(cached.read_text()).items()}, ""
    with tempfile.TemporaryDirectory(prefix="shipyard-lock-") as scratch:
        folder = Path(scratch)
        (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
        (folder / "constraints.txt").write_text(
            "".join(f"{k}=={v}\n" for k, v in sorted(constraints.items())))
        # --isolated: this machine's pip configuration (its own constraints, find-links) must
        # not decide what the image gets
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--quiet",
             "--ignore-installed", "--only-binary=:all:", "--python-version", _PYTHON,
             "--implementation", "cp", *(f"--platform={p}" for p in PLATFORMS),
             "--report", str(folder / "report.json"),
             "-r", str(folder / "requirements.txt"), "-c", str(folder / "constraints.txt")],
            capture_output=True, text=True, check=False, timeout=900)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            return None, f"pip could not resolve it ({lines[-1] if lines else done.returncode})"
        report = json.loads((folder / "report.json").read_text())
    pins = {_canonical(item["metadata"]["name"]): (
        item["metadata"]["version"], item["download_info"]["archive_info"]["hashes"]["sha256"])
        for item in report["install"]}
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(pins, indent=1, sort_keys=True))
    return pins, ""


def _closure(root: str, extras: frozenset[str] = frozenset()) -> dict[str, str]:
    """Every distribution ``root`` (with ``extras``) needs, by installed version."""
    found: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = [(root, extras)]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        key = (_canonical(name), extras)
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency not installed here
        found[_canonical(dist.metadata["Name"])] = dist.version
        for text in dist.requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            wanted = marker is None or any(
                marker.evaluate({"extra": extra}) for extra in (extras or {""}))
            if wanted:
                todo.append((requirement.name, frozenset(requirement.extras)))
    return found


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
