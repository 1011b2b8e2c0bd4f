"""checkov and zizmor, pinned and offline, on what ``shipyard deploy build`` writes (issue 20).

Both examples are built fresh; checkov reads the manifests a cluster would get (each overlay's
rendering; the base where no environment has an overlay), the Dockerfile and the workflows,
zizmor the workflows. Any finding fails, except those in :data:`ALLOWED`, each with the reason
it is not a fault of the generated files. The scanners come from ``make scanners``
(``.venv-scan/``, versions in tests/scanners.txt); they run without a network (in a network
namespace of their own where the machine allows one).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.cli import run

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SCANNERS = REPO / ".venv-scan" / "bin"

# check id -> why the generated files may trip it. Nothing else may.
ALLOWED = {
    # `FROM ${BASE}`: checkov reads the FROM line without the build argument, whose default is
    # the base by digest (ARG BASE=python:3.11-slim-bookworm@sha256:...; test_build checks it).
    "CKV_DOCKER_7": "the base comes from a build argument pinned by digest",
    # The manifests carry deploy.tag; CD applies the image it pushed by digest
    # (kustomize edit set image NAME=IMAGE@sha256:..., from the push's output).
    "CKV_K8S_43": "CD sets the image by digest when it applies the overlay",
    # With the image by digest, IfNotPresent pulls exactly that image; Always adds a registry
    # round trip to every start and a registry outage to every restart.
    "CKV_K8S_15": "images are applied by digest, so IfNotPresent is exact",
    # Shipyard reads store URLs and keys as ${VAR} from the environment (shipyard.yaml); the
    # values come from the Secret by key, never written in a manifest (deploy validate).
    "CKV_K8S_35": "shipyard.yaml reads ${VAR} from the environment, filled from the Secret",
}
# Only where no overlay exists (Titanic: its dev stores are this machine's): the base has no
# namespace, since the overlay of each environment sets it.
ALLOWED_IN_BASE = {"CKV_K8S_21": "the base's namespace is each overlay's"}


def _scanner(name: str) -> Path:
    path = SCANNERS / name
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing: run 'make scanners'")
        pytest.skip(f"{name} is not installed: run 'make scanners'")
    return path


def _offline() -> list[str]:
    """A network namespace with no interface, where the machine lets us make one."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True,
                                  check=False).returncode == 0:
        return [unshare, "-n"]
    return []


def _built(tmp_path: Path, example: str) -> Path:
    run("example", example, str(tmp_path / example), cwd=tmp_path)
    root = tmp_path / example
    run("deploy", "build", "--wheel", cwd=root)
    return root


def _manifests(root: Path) -> tuple[list[Path], bool]:
    """The renderings of the overlays, else the base's objects; and whether it is the base."""
    rendered = sorted((root / "deploy/k8s/rendered").glob("*.yaml"))
    if rendered:
        return rendered, False
    base = root / "deploy/k8s/base"
    return sorted(p for p in base.glob("*.yaml")
                  if p.name not in ("kustomization.yaml", "shipyard.yaml")), True


def _checkov(root: Path, files: list[Path]) -> list[dict[str, str]]:
    command = [*_offline(), str(_scanner("checkov")), "--quiet", "--compact", "-o", "json",
               "--skip-download", "--framework", "kubernetes", "dockerfile", "github_actions",
               *(arg for f in files for arg in ("-f", str(f.relative_to(root))))]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False,
                          env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}, timeout=600)
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: failed checks, reported below
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert {r["check_type"] for r in reports} == {"kubernetes", "dockerfile", "github_actions"}
    assert all(r["summary"]["parsing_errors"] == 0 for r in reports)
    return [{"id": c["check_id"], "file": c["file_path"], "resource": c["resource"],
             "name": c["check_name"]} for r in reports for c in r["results"]["failed_checks"]]


def _zizmor(root: Path) -> list[dict[str, str]]:
    command = [*_offline(), str(_scanner("zizmor")), "--offline", "--no-progress",
               "--format", "json", ".github/workflows"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False,
                          timeout=600)
    assert done.stdout.strip().startswith("["), done.stderr[-3000:]
    return [{"id": f["ident"], "where": json.dumps(f["locations"][0]["symbolic"]["key"]),
             "desc": f["desc"]} for f in json.loads(done.stdout)]


@pytest.mark.parametrize("example", ["recommender", "titanic"])
def test_checkov_and_zizmor_find_nothing_unexplained(tmp_path: Path, example: str) -> None:
    root = _built(tmp_path, example)
    manifests, base = _manifests(root)
    workflows = sorted((root / ".github/workflows").glob("*.yml"))
    assert manifests and len(workflows) == 3
    allowed = {**ALLOWED, **(ALLOWED_IN_BASE if base else {})}
    findings = _checkov(root, [*manifests, root / "deploy/Dockerfile", *workflows])
    unexplained = [f for f in findings if f["id"] not in allowed]
    assert unexplained == [], json.dumps(unexplained, indent=1)
    # the NetworkPolicy covers every pod (checkov's CKV2_K8S_6 finds none without one)
    assert "CKV2_K8S_6" not in {f["id"] for f in findings}
    assert _zizmor(root) == []
