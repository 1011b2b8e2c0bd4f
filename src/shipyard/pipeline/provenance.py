"""Where a run's code came from: git commit and dirty flag, a code snapshot, the environment.

A commit alone does not reproduce a run made from a work tree with uncommitted edits, so every
run also keeps a ``.tar.gz`` of the project's Python files and ``shipyard.yaml`` as they were
(in the environment's state store),
and the versions of Python and the libraries that shape results.
"""

from __future__ import annotations

import io
import os
import platform
import socket
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GitState", "code_archive", "environment", "git_state", "process_alive"]

_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "venv", "site-packages"})


@dataclass(frozen=True)
class GitState:
    """The commit checked out and whether the project's files differ from it.

    Both are None when the project is not in a git repository (or git is not installed).
    """

    commit: str | None
    dirty: bool | None


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(root: Path) -> GitState:
    """Commit and dirty flag of the project folder.

    Dirty means a tracked file under the project folder changed, or a Python file or
    ``shipyard.yaml`` there is not tracked yet: both make the commit alone an incomplete
    record of the code that ran. Untracked data and state folders do not count.
    """
    commit = _git(root, "rev-parse", "HEAD")
    if commit is None:
        return GitState(None, None)
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--", ".")
    dirty = None
    if status is not None:
        dirty = False
        for line in status.splitlines():
            path = line[3:].strip().strip('"')
            if not line.startswith("??") or path.endswith((".py", "shipyard.yaml")):
                dirty = True
                break
    return GitState(commit.strip(), dirty)


def _code_files(root: Path, exclude: list[Path]) -> list[Path]:
    excluded = {p.resolve() for p in exclude}
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS
                         and (here / d).resolve() not in excluded)
        found.extend(here / f for f in sorted(files)
                     if f.endswith(".py") or (f == "shipyard.yaml" and here == root))
    return found


def code_archive(root: Path, *, exclude: list[Path] | None = None) -> bytes:
    """The project's ``*.py`` and ``shipyard.yaml`` as a ``.tar.gz``, to keep with a run.

    Hidden folders (``.git``, ``.shipyard``, ``.venv``), virtualenvs and ``exclude`` (local
    lake and state folders) are left out. Entries carry no timestamps or owners, so the same
    code gives the same archive.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in _code_files(root, exclude or []):
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(root).as_posix())
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def environment() -> dict[str, str]:
    """Python, platform and versions of Shipyard and the libraries it requires."""
    from shipyard.pipeline.fingerprint import library_versions

    return {**library_versions({"shipyard"}), "platform": platform.platform(),
            "host": socket.gethostname()}


def process_alive(host: str | None, pid: int | None) -> bool | None:
    """Whether process ``pid`` still runs; None when it ran on another host (cannot tell)."""
    if host != socket.gethostname() or pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    """A killed child that its parent has not reaped yet still answers kill(pid, 0)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
