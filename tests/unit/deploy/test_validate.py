"""``shipyard deploy validate``: each policy fails on a deliberately broken file, naming it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.deploy import build_deploy, validate_deploy
from shipyard.errors import ConfigError
from shipyard.project import Project

Edit = Callable[[dict[str, Any]], None]


def _edit(path: Path, change: Edit) -> None:
    docs = list(yaml.safe_load_all(path.read_text()))
    change(docs[0])
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def _server(doc: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = doc["spec"]["template"]["spec"]["containers"][0]
    return container


def _root(doc: dict[str, Any]) -> None:
    doc["spec"]["template"]["spec"]["securityContext"]["runAsUser"] = 0


def _inline_key(doc: dict[str, Any]) -> None:
    env = _server(doc)["env"]
    keys = next(e for e in env if e["name"] == "SHIPYARD_API_KEYS")
    keys.pop("valueFrom")
    keys["value"] = "a-real-key-in-git-0123456789"


def _latest(doc: dict[str, Any]) -> None:
    doc["images"][0]["newTag"] = "latest"


def _hpa(doc: dict[str, Any]) -> None:
    doc["spec"]["minReplicas"] = 9


def _no_limits(doc: dict[str, Any]) -> None:
    del _server(doc)["resources"]["limits"]


def _no_probe(doc: dict[str, Any]) -> None:
    del _server(doc)["readinessProbe"]


def _unknown_field(doc: dict[str, Any]) -> None:
    _server(doc)["imagePullPolicyy"] = "Always"


def _overlap(doc: dict[str, Any]) -> None:
    doc["spec"]["concurrencyPolicy"] = "Allow"


BROKEN: dict[str, tuple[str, Edit, str, list[str]]] = {
    "no probe": ("deploy/k8s/base/deployment.yaml", _no_probe, "policy: probes",
                 ["spec.template.spec.containers[0].readinessProbe", "no probe"]),
    "root user": ("deploy/k8s/base/deployment.yaml", _root, "policy: non-root",
                  ["securityContext.runAsUser", "runs as root"]),
    "no limits": ("deploy/k8s/base/deployment.yaml", _no_limits, "policy: limits",
                  ["resources.limits", "no cpu and no memory limit"]),
    "latest": ("deploy/k8s/overlays/prod/kustomization.yaml", _latest, "policy: image tag",
               ["containers[0].image", "tagged latest"]),
    "inlined secret": ("deploy/k8s/base/deployment.yaml", _inline_key, "policy: secrets",
                       ["SHIPYARD_API_KEYS holds a secret value inline", "secretKeyRef"]),
    "hpa min above max": ("deploy/k8s/base/hpa.yaml", _hpa, "policy: autoscaling",
                          ["spec.minReplicas", "minReplicas 9 is above maxReplicas 6"]),
    "schema": ("deploy/k8s/base/deployment.yaml", _unknown_field, "Kubernetes 1.33.0 schemas",
               ["imagePullPolicyy"]),
    "overlapping jobs": ("deploy/k8s/base/cronjob-ingest.yaml", _overlap, "policy: rollout",
                         ["spec.concurrencyPolicy", "Forbid"]),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_a_broken_manifest_fails_naming_file_field_and_fix(project: Project, case: str) -> None:
    file, change, check, words = BROKEN[case]
    _edit(project.root / file, change)
    report = validate_deploy(project)
    failed = {c.name: c.problems for c in report.checks if c.problems}
    assert check in failed, failed
    named = [p for p in failed[check] if p.startswith(file.replace("overlays/prod/kustomization.yaml",
                                                                     "base/deployment.yaml"))]
    assert named, failed[check]
    assert all(word in named[0] for word in words), named[0]
    if check.startswith("policy"):
        assert "fix:" in named[0]
    # the hand edit also makes the committed rendering stale, and that is said too
    assert any("rendered/" in p for p in failed["kustomize rendering"])


def test_a_workflow_with_an_inline_secret_or_a_bad_key_fails(project: Project) -> None:
    path = project.root / ".github/workflows/ci.yml"
    workflow = yaml.safe_load(path.read_text())
    workflow["jobs"]["test"]["env"] = {"REGISTRY_PASSWORD": "hunter2-hunter2"}
    workflow["jobs"]["test"]["runs_on"] = "ubuntu-latest"
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))
    problems = validate_deploy(project).problems
    assert any(p.startswith(".github/workflows/ci.yml: jobs.test.env.REGISTRY_PASSWORD") and
               "${{ secrets.REGISTRY_PASSWORD }}" in p for p in problems), problems
    assert any(p.startswith(".github/workflows/ci.yml") and "GitHub workflow schema" in p
               for p in problems), problems


def test_an_image_running_as_root_or_leaking_data_fails(project: Project) -> None:
    dockerfile = project.root / "deploy/Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("USER ${UID}:${UID}", "USER root")
                          + "ENV AWS_SECRET_ACCESS_KEY=abc\n")
    ignore = project.root / ".dockerignore"
    ignore.write_text(ignore.read_text().replace(".shipyard\n", ""))
    problems = validate_deploy(project).problems
    assert any(p.startswith("deploy/Dockerfile: USER") for p in problems), problems
    assert any("AWS_SECRET_ACCESS_KEY: a secret in a layer" in p for p in problems), problems
    assert any(p.startswith(".dockerignore: .shipyard not excluded") for p in problems), problems


def test_a_config_copy_out_of_date_is_named(project: Project) -> None:
    config = project.root / "shipyard.yaml"
    config.write_text(config.read_text() + "\n# changed\n")
    problems = validate_deploy(Project.open(project.root, "dev")).problems
    assert problems == [("deploy/k8s/base/shipyard.yaml: is not the project's shipyard.yaml (the "
                         "ConfigMap would serve an old configuration); run 'shipyard deploy build'")]


def test_an_unknown_kubernetes_version_is_refused_naming_the_shipped_ones(project: Project) -> None:
    with pytest.raises(ConfigError, match=r"no Kubernetes 1\.99\.0 schemas .* ships 1\.25\.0 to"):
        validate_deploy(project, kubernetes_version="1.99.0")
    assert validate_deploy(project, kubernetes_version="1.29.0").problems == []


def test_validate_before_build_says_to_build(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text("project: p\nenvironments: {dev: {lake: lake}}\n")
    with pytest.raises(ConfigError, match=r"nothing in .* to validate; run shipyard deploy build "
                                          r"first"):
        validate_deploy(Project.open(tmp_path, "dev"))


def test_a_file_that_is_not_yaml_is_named(project: Project) -> None:
    (project.root / "deploy/k8s/base/service.yaml").write_text("kind: Service\n  bad: [\n")
    problems = validate_deploy(project).problems
    assert any(p.startswith("deploy/k8s/base/service.yaml: not valid YAML") for p in problems)


def test_a_kustomization_field_shipyard_does_not_render_is_named(project: Project) -> None:
    path = project.root / "deploy/k8s/overlays/staging/kustomization.yaml"
    path.write_text(path.read_text() + "replicas:\n- name: demo-shop\n  count: 2\n")
    problems = validate_deploy(project).problems
    assert any(p.startswith("deploy/k8s/overlays/staging/kustomization.yaml: replicas is not "
                            "rendered by Shipyard") for p in problems), problems


WORKLOADS = ("Deployment/demo-shop, CronJob/demo-shop-ingest, CronJob/demo-shop-monitor-compact, "
             "CronJob/demo-shop-run-nightly, CronJob/demo-shop-run-train")
LOCAL_STORES: dict[str, tuple[str, str, str, str]] = {
    # staging's line in shipyard.yaml → the same line made local, the setting named, the words
    "local lake": ("lake: s3://bucket/staging", "lake: lake-staging",
                   "environments.staging.lake", "'lake-staging' is a local folder"),
    "sqlite": ("metadata_db: ${STAGING_DB}", "metadata_db: sqlite:///staging.db",
               "environments.staging.metadata_db", "is SQLite"),
    "localhost": ("results_db: ${STAGING_DB}", "results_db: postgresql://u@127.0.0.1:5432/x",
                  "environments.staging.results_db", "is on 127.0.0.1"),
    "fallback": ("tracking_uri: ${DEMO_TRACKING}",
                 "tracking_uri: ${DEMO_TRACKING:-http://localhost:5000}",
                 "environments.staging.tracking_uri",
                 "falls back to 'http://localhost:5000' when DEMO_TRACKING is missing"),
    "local source": ('erp: {url: "${ERP_URL}"}\n  prod', 'erp: {url: "sqlite:///erp.db"}\n  prod',
                     "environments.staging.sources.erp.url", "is SQLite"),
}


@pytest.mark.parametrize("case", LOCAL_STORES, ids=list(LOCAL_STORES))
def test_a_target_with_a_local_store_is_refused_naming_object_store_and_fix(
        project: Project, case: str) -> None:
    server, local, setting, words = LOCAL_STORES[case]
    config = project.root / "shipyard.yaml"
    assert server in config.read_text()
    config.write_text(config.read_text().replace(server, local, 1))
    assert "staging" not in build_deploy(project).envs  # not rendered unless asked for
    written = build_deploy(Project.open(project.root, "dev"), ["staging"])
    assert any(w.startswith("staging: rendered as asked") and setting in w
               for w in written.warnings), written.warnings
    failed = {c.name: c.problems for c in validate_deploy(project).checks if c.problems}
    assert list(failed) == ["stores are servers"], failed
    problem = next(p for p in failed["stores are servers"] if setting in p)
    assert problem.startswith(f"deploy/k8s/overlays/staging: {WORKLOADS} {setting}: ")
    fix = ("; fix: write ${DEMO_TRACKING} without a default" if case == "fallback"
           else f"; fix: set {setting} to ")
    assert words in problem and fix in problem, problem


def test_an_optional_secret_key_for_a_store_is_refused(project: Project) -> None:
    def optional(doc: dict[str, Any]) -> None:
        pod = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        entry = next(e for e in pod["containers"][0]["env"] if e["name"] == "STAGING_DB")
        entry["valueFrom"]["secretKeyRef"]["optional"] = True

    _edit(project.root / "deploy/k8s/overlays/staging/patch-cronjob-demo-shop-ingest.yaml",
          optional)
    problems = validate_deploy(project).problems
    assert ("deploy/k8s/overlays/staging: CronJob/demo-shop-ingest env STAGING_DB: "
            "environments.staging.metadata_db reads it from an optional Secret key: the pod may "
            "start without it; fix: remove optional: true") in "\n".join(problems), problems


def test_validate_env_names_why_an_environment_has_no_overlay(project: Project) -> None:
    report = validate_deploy(project, envs=["dev"])
    assert report.overlays == []
    assert any(p.startswith("deploy/k8s/overlays/dev: no overlay, and dev cannot run in a "
                            "cluster: environments.dev.lake 'lake' is a local folder")
               for p in report.problems), report.problems
    assert validate_deploy(project, envs=["staging"]).problems == []
