"""The CD step that trains in the cluster, run as GitHub runs it (``bash -eo pipefail``) against
a stand-in ``kubectl`` that answers with the rendered Deployment and keeps the Jobs created.

What it shows without a cluster: each Job is the server's pod (image, Secret keys, service
account, security context) with the command replaced, no probes or ports, labelled apart from
the Service's selector; a failing Job (a model its gate rejects) fails the step before the
promotion.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shipyard.project import Project

_KUBECTL = """#!/bin/bash
# a stand-in: the Deployment as rendered; Jobs kept in $FAKE/jobs; $FAIL names a failing one
case "$*" in
  *"get deployment/"*) cat "$FAKE/deployment.json" ;;
  *"create -f -"*) cat > "$FAKE/jobs/$(ls "$FAKE/jobs" | wc -l).json" ;;
  *"get job/"*) if [[ -n "$FAIL" && "$*" == *"$FAIL"* ]]; then echo "/1"; else echo "1/"; fi ;;
  *"logs job/"*) echo "logs of $4" ;;
  *) echo "unexpected: kubectl $*" >&2; exit 2 ;;
esac
"""


def _run(project: Project, tmp_path: Path, fail: str = "") -> tuple[int, list[dict]]:
    rendered = yaml.safe_load_all((project.root / "deploy/k8s/rendered/prod.yaml").read_text())
    deployment = next(o for o in rendered if o and o["kind"] == "Deployment")
    fake = tmp_path / "fake"
    (fake / "jobs").mkdir(parents=True)
    (fake / "deployment.json").write_text(json.dumps(deployment))
    kubectl = fake / "kubectl"
    kubectl.write_text(_KUBECTL)
    kubectl.chmod(0o755)
    cd = yaml.safe_load((project.root / ".github/workflows/cd.yml").read_text())
    step = next(s for s in cd["jobs"]["deploy-prod"]["steps"]
                if s.get("name", "").startswith("Ingest, train and promote"))
    env = {**os.environ, **step["env"], "PATH": f"{fake}:{os.environ['PATH']}", "FAKE": str(fake),
           "FAIL": fail, "GITHUB_SHA": "0123456789abcdef" * 2 + "01234567",
           "GITHUB_RUN_ATTEMPT": "1"}
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                          env=env, capture_output=True, text=True, check=False, timeout=60)
    jobs = [json.loads(p.read_text()) for p in sorted((fake / "jobs").iterdir(),
                                                      key=lambda p: int(p.stem))]
    return done.returncode, jobs


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq (as on GitHub's runners) is needed")
def test_training_runs_as_jobs_made_from_the_server_pod(project: Project, tmp_path: Path) -> None:
    code, jobs = _run(project, tmp_path)
    assert code == 0
    assert [j["metadata"]["name"] for j in jobs] == [
        f"demo-shop-{step}-01234567-1" for step in ("ingest", "run-train", "promote-demo")]
    train = jobs[1]["spec"]["template"]["spec"]
    container = train["containers"][0]
    assert container["command"] == ["shipyard", "run", "train", "--env", "prod"]
    assert not {"args", "ports", "readinessProbe", "livenessProbe", "startupProbe",
                "lifecycle"} & set(container)
    assert train["restartPolicy"] == "Never" and train["serviceAccountName"] == "demo-shop"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    keys = {e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"]
            if "secretKeyRef" in e.get("valueFrom", {})}
    assert {"DEMO_DB", "DEMO_STATE", "DEMO_TRACKING"} <= keys  # prod's stores, from its Secret
    assert {"name": "CD_COMMIT", "value": "0123456789abcdef" * 2 + "01234567"} in container["env"]
    # not behind the Service: its selector wants component=server
    assert jobs[1]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "cd"
    assert jobs[1]["spec"]["backoffLimit"] == 0
    promote = jobs[2]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert promote[:2] == ["/bin/sh", "-c"] and "shipyard models promote demo" in promote[2]
    assert subprocess.run(["sh", "-n", "-c", promote[2]], check=False).returncode == 0


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq (as on GitHub's runners) is needed")
def test_a_failed_training_job_fails_the_step_before_any_promotion(project: Project,
                                                                   tmp_path: Path) -> None:
    code, jobs = _run(project, tmp_path, fail="run-train")
    assert code != 0
    assert [j["metadata"]["name"].split("-")[2] for j in jobs] == ["ingest", "run"]
