"""From a fresh example project: ``shipyard deploy build`` then ``validate`` pass (issue 12).

What can be proved without a cluster: every manifest each overlay renders to is valid against
the stated Kubernetes schemas and Shipyard's policies, and the workflows against GitHub's; an
overlay exists only for an environment whose stores are all servers (the recommender's
``team``), and one asked for with local stores is refused, naming object, setting and fix
(issue 19).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.e2e.cli import run

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("example", "envs", "jobs"), [
    ("titanic", [], {"ingest", "run-train", "monitor-compact"}),  # dev only: SQLite, no cluster
    ("recommender", ["team"], {"ingest", "run-train", "run-nightly", "recommend", "monitor-compact"}),
])
def test_build_then_validate_pass(tmp_path: Path, example: str, envs: list[str],
                                  jobs: set[str]) -> None:
    run("example", example, str(tmp_path / example), cwd=tmp_path)
    root = tmp_path / example
    built = run("deploy", "build", cwd=root)
    assert "Next: shipyard deploy validate" in built.stdout
    assert "dev: no Kubernetes overlay: its stores cannot serve pods: environments.dev.lake" \
        in " ".join(built.stdout.split())
    overlays = root / "deploy/k8s/overlays"
    assert (sorted(p.name for p in overlays.iterdir()) if overlays.exists() else []) == envs
    cronjobs = {p.stem.removeprefix("cronjob-") for p in (root / "deploy/k8s/base").glob("cronjob-*")}
    assert cronjobs == jobs
    checked = run("deploy", "validate", cwd=root)
    assert "passed" in checked.stdout and "problem" not in checked.stdout
    assert (f"overlays: {', '.join(envs)}" if envs else "no Kubernetes overlay") in \
        " ".join(checked.stdout.split())
    for env in envs:
        kinds = [d["kind"] for d in yaml.safe_load_all((root / f"deploy/k8s/rendered/{env}.yaml")
                                                       .read_text())]
        assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                "ConfigMap", "CronJob", "Namespace"} <= set(kinds)
    # build twice: the same files (reviewable diffs), still valid
    before = {p: p.read_bytes() for p in (root / "deploy").rglob("*") if p.is_file()}
    run("deploy", "build", cwd=root)
    assert {p: p.read_bytes() for p in (root / "deploy").rglob("*") if p.is_file()} == before


def test_the_team_target_passes_and_a_local_prod_is_refused_with_exit_2(tmp_path: Path) -> None:
    run("example", "recommender", str(tmp_path / "shop"), cwd=tmp_path)
    root = tmp_path / "shop"
    run("deploy", "build", "--env", "team", "--env", "prod", cwd=root)
    secret = (root / "deploy/k8s/overlays/team/secret.example.env").read_text().splitlines()
    assert [line for line in secret if not line.startswith("#")] == [
        "DASK_SCHEDULER_ADDRESS=", "ERP_URL=", "MLFLOW_TRACKING_URI=", "SHIPYARD_DB=",
        "SHIPYARD_LAKE=", "SHIPYARD_STATE=", "SHIPYARD_API_KEYS="]  # all required
    rendered = (root / "deploy/k8s/rendered/team.yaml").read_text()
    assert "optional: true" not in rendered and "127.0.0.1" not in rendered
    assert "passed" in run("deploy", "validate", "--env", "team", cwd=root).stdout
    refused = run("deploy", "validate", "--env", "prod", cwd=root, check=2)
    problems = [line for line in refused.stdout.splitlines() if line.startswith("✗")]
    assert ("✗ deploy/k8s/overlays/prod: Deployment/shop, CronJob/shop-ingest, "
            "CronJob/shop-monitor-compact, CronJob/shop-recommend, CronJob/shop-run-nightly, "
            "CronJob/shop-run-train "
            "environments.prod.lake: 'lake-prod' is a local folder: each pod gets an empty one "
            "of its own; fix: set environments.prod.lake to object storage (s3://, az://, "
            "abfss://) through a required variable, e.g. ${SHIPYARD_LAKE}") in problems[0]
    settings = {s for s in ("environments.prod.state", "environments.prod.tracking_uri",
                            "sources.erp.url") if any(s in p for p in problems)}
    assert len(problems) == 4 and len(settings) == 3, problems
    assert "falls back to 'sqlite:///erp.db' when ERP_URL is missing" in refused.stdout


def test_a_broken_overlay_fails_validate_with_exit_2(tmp_path: Path) -> None:
    run("example", "recommender", str(tmp_path / "shop"), cwd=tmp_path)
    root = tmp_path / "shop"
    run("deploy", "build", cwd=root)
    kustomization = root / "deploy/k8s/overlays/team/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("newTag: v1", "newTag: latest"))
    done = run("deploy", "validate", cwd=root, check=2)
    assert "is tagged latest" in done.stdout


def test_the_pull_request_workflow_shipyard_steps_pass_on_titanic(tmp_path: Path) -> None:
    # what ci.yml runs after installing: validate, ingest, the 5% one-trial smoke run; each
    # shipyard step of the generated workflow is run here as GitHub would run it
    run("example", "titanic", str(tmp_path / "titanic"), cwd=tmp_path)
    root = tmp_path / "titanic"
    run("deploy", "build", cwd=root)
    workflow = yaml.safe_load((root / ".github/workflows/ci.yml").read_text())
    commands = [s["run"] for s in workflow["jobs"]["test"]["steps"]
                if s.get("run", "").startswith("shipyard ")]
    assert commands == ["shipyard deploy validate", "shipyard ingest --env dev",
                        "shipyard run train --smoke --sample 0.05 --env dev"]
    for command in commands:
        done = run(*command.split()[1:], cwd=root)
    assert "smoke run: nothing registered" in done.stdout
