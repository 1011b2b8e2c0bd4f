"""A container of the manifests as a process in its own empty folder: a pod, rehearsed.

Each pod gets a fresh folder holding what the image and its mounts would put there: ``app/``
(the working directory, ``/app``) with the ConfigMap's ``shipyard.yaml`` and the project's
top-level Python files (the code ``COPY . /app`` puts in the image), and ``tmp/`` (the
``emptyDir`` on ``/tmp``, also ``HOME``). Its environment is the container's (ConfigMap values,
Secret keys), plus what the image sets (``PATH`` to the Shipyard that runs here,
``PYTHONUNBUFFERED``, ``PYTHONDONTWRITEBYTECODE``) and the object store's credential and
endpoint variables, which a cluster gives through workload identity rather than the manifests.
Nothing else of this machine's environment reaches it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from shipyard.deploy.rehearse.manifests import Container, Plan
from shipyard.errors import ConfigError

__all__ = ["CREDENTIAL_PREFIXES", "Pod", "pod_env", "read_env_file"]

# what a cluster's workload identity (not the manifests) gives a pod to reach the object store
CREDENTIAL_PREFIXES = ("AWS_", "AZURE_", "AZURITE_", "MLFLOW_S3_", "GOOGLE_")


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (``export`` and quotes allowed; ``#`` comments), as a Secret's data."""
    found = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip().removeprefix("export ").strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"{path}:{number}: not a KEY=VALUE line")
        value = value.strip()
        if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[key.strip()] = value
    return found


def pod_env(container: Container, secrets: dict[str, str], home: Path) -> dict[str, str]:
    """The environment of a pod of ``container`` whose ``/tmp`` is ``home``."""
    passed = {k: v for k, v in secrets.items() if k.startswith(CREDENTIAL_PREFIXES)}
    here = os.environ.get("PYTHONPATH")  # the Shipyard the image would have installed is this one
    return {
        **passed,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(home), "TMPDIR": str(home), "MPLCONFIGDIR": str(home),
        **({"PYTHONPATH": here} if here else {}),
        **container.env,
    }


class Pod:
    """One container of the plan as a process in a folder of its own under ``base``."""

    def __init__(self, plan: Plan, container: Container, project: Path, base: Path,
                 name: str, secrets: dict[str, str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))
        self.app = self.root / "app"
        self.tmp = self.root / "tmp"
        self.app.mkdir()
        self.tmp.mkdir()
        (self.app / "shipyard.yaml").write_text(plan.config_text)
        for code in sorted(project.glob("*.py")):
            shutil.copy(code, self.app / code.name)
        self.argv = _argv(container.argv, plan.image_files)
        self.env = {**pod_env(container, secrets, self.tmp), **(env or {})}
        self.log = self.root / "log.txt"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:  # a restarted container appends
            self.process = subprocess.Popen(self.argv, cwd=self.app, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def run(self, timeout_s: float) -> tuple[int, str]:
        """Run to completion (a Job's pod): its exit code and output."""
        self.start()
        assert self.process is not None
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            code = -9
        return code, self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self, grace_s: float) -> int | None:
        """SIGTERM, then SIGKILL after ``grace_s`` (terminationGracePeriodSeconds)."""
        if not self.alive:
            return self.process.returncode if self.process else None
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

    def kill(self) -> None:
        """SIGKILL the pod's processes (a node losing it, or the grace period over)."""
        if self.alive:
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def written(self) -> list[str]:
        """Files in ``app/`` it did not start with (a pod's root filesystem is read-only)."""
        started = {"shipyard.yaml", *(p.name for p in self.app.glob("*.py"))}
        return sorted(str(p.relative_to(self.app)) for p in self.app.rglob("*")
                      if p.is_file() and p.name not in started)


def _argv(argv: list[str], image_files: dict[str, Path]) -> list[str]:
    """The container's argv with the image's files found in deploy/: a script by its shebang,
    ``python3`` as this interpreter."""
    found: list[str] = []
    for word in argv:
        if word in image_files:
            file = image_files[word]
            first = file.read_text().splitlines()[0] if file.is_file() else ""
            found += (["/bin/sh", str(file)] if first.startswith("#!/bin/sh")
                      else [sys.executable, str(file)] if "python" in first else [str(file)])
        elif word in ("python3", "python") and not found:
            found.append(sys.executable)
        else:
            found.append(word)
    return found

