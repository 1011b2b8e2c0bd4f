"""``shipyard deploy validate``: check deploy/ offline, as a cluster and GitHub would.

Each overlay is rendered the way ``kubectl apply -k`` renders it (:mod:`shipyard.deploy.kustomize`)
from the files on disk — so a hand edit is checked too — and every object is validated against
the Kubernetes schemas of a stated version (``kubernetes-validate`` ships them, strict: an
unknown field is an error), then against Shipyard's policies. The workflows are validated
against GitHub's workflow schema (the copy ``check-jsonschema`` vendors), the Dockerfile and
``.dockerignore`` against what keeps an image safe. Nothing needs a network or a cluster.

Each overlay's stores are checked as its pods would meet them (:mod:`shipyard.deploy.stores`),
from the ``shipyard.yaml`` and ``SHIPYARD_ENV`` of its rendered ConfigMap and the env of each
Deployment and CronJob: a local folder, SQLite, localhost, a ``${VAR:-default}`` fallback, or a
store variable that is an optional Secret key (or not set at all) is a problem naming the
object, the setting and the fix.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cache
from importlib import resources as package_files
from pathlib import Path
from typing import Any

import yaml

from shipyard.config.load import CONFIG_FILE
from shipyard.deploy.build import DEPLOY_DIR, k8s_dir, rendered_text
from shipyard.deploy.kustomize import Resource, containers, render
from shipyard.deploy.policies import POLICIES, Problem, check
from shipyard.deploy.stores import Store, findings, local_reason, raw_config, stores
from shipyard.deploy.workflows import WORKFLOW_DIR
from shipyard.errors import ConfigError
from shipyard.project import Project
from shipyard.redact import is_secret_name

__all__ = ["Check", "ValidationReport", "validate_deploy"]

_IGNORED = (".shipyard", "*.db", ".env", ".api-key*")
_SECRET_EXPRESSION = re.compile(r"^\$\{\{\s*secrets\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}$")


@dataclass
class Check:
    """One row of the table: what was checked, on what, how many items, what failed."""

    name: str
    target: str
    items: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class ValidationReport:
    root: Path
    kubernetes_version: str
    checks: list[Check] = field(default_factory=list)
    overlays: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Every problem once (an object of the base shows in each overlay's rendering)."""
        return list(dict.fromkeys(p for c in self.checks for p in c.problems))

    def summary(self) -> str:
        items = sum(c.items for c in self.checks)
        targets = (f"overlays: {', '.join(self.overlays)}" if self.overlays else
                   "no Kubernetes overlay: no environment's stores are all servers")
        return (f"{len(self.checks)} checks of {items} items passed (Kubernetes "
                f"{self.kubernetes_version} schemas, GitHub workflow schema, policies, "
                f"stores; {targets})")


def validate_deploy(project: Project, *, kubernetes_version: str | None = None,
                    envs: list[str] | None = None) -> ValidationReport:
    """Check the project's deploy/ and workflows (the overlays of ``envs`` only, if given);
    the report lists every problem found."""
    root = project.root
    version = kubernetes_version or project.config.deploy.kubernetes_version
    _check_version(version)
    overlays_dir = k8s_dir(root) / "overlays"
    overlays = sorted(p for p in overlays_dir.glob("*") if p.is_dir()
                      and (envs is None or p.name in envs))
    if not overlays and not envs and not (root / DEPLOY_DIR / "Dockerfile").is_file():
        raise ConfigError(f"nothing in {root / DEPLOY_DIR} to validate; run "
                          f"{project.command('deploy build')} first")
    report = ValidationReport(root / DEPLOY_DIR, version, overlays=[p.name for p in overlays])
    rendered: dict[str, list[Resource]] = {}
    rendering = Check("kustomize rendering", "deploy/k8s/overlays/*", len(overlays))
    for overlay in overlays:
        try:
            rendered[overlay.name] = render(overlay, root / DEPLOY_DIR)
        except ConfigError as error:
            rendering.problems.append(str(error))
            continue
        _up_to_date(root, overlay.name, rendered[overlay.name], rendering)
    _config_copy(root, rendering)
    report.checks.append(rendering)
    if shutil.which("kubectl"):
        report.checks.append(_kubectl_agrees(root, rendered))
    everything = [r for found in rendered.values() for r in found]
    report.checks.append(_schemas(everything, version, len(rendered)))
    for name, problems in check(everything).items():
        report.checks.append(Check(f"policy: {name}", POLICIES[name][0], len(everything),
                                   [str(p) for p in problems]))
    stores_check = _stores(rendered)
    for env in sorted(set(envs or []) - {p.name for p in overlays}):
        stores_check.problems += _no_overlay(project, env)
    report.checks.append(stores_check)
    report.checks.append(_workflows(root))
    report.checks.append(_image(root))
    return report


def _stores(rendered: dict[str, list[Resource]]) -> Check:
    """Every overlay's stores as its pods meet them: servers only, by required Secret keys."""
    found = Check("stores are servers", "no folder, SQLite, localhost, fallback or optional "
                  "Secret key", 0)
    for overlay, resources in rendered.items():
        where = f"deploy/k8s/overlays/{overlay}"
        maps = [r.obj.get("data") or {} for r in resources if r.kind == "ConfigMap"]
        data = next((d for d in maps if CONFIG_FILE in d and "SHIPYARD_ENV" in d), None)
        if data is None:
            found.problems.append(f"{where}: no ConfigMap with {CONFIG_FILE} and SHIPYARD_ENV: "
                                  f"its pods' stores are unknown; run 'shipyard deploy build'")
            continue
        env, raw = str(data["SHIPYARD_ENV"]), raw_config(str(data[CONFIG_FILE]))
        known = stores(raw, env)
        found.items += len(known)
        workloads = [r for r in resources if r.kind in ("Deployment", "CronJob")]
        leave = f" (or remove {where} if {env} is not meant for a cluster)"
        found.problems += [str(Problem(where, ", ".join(r.label for r in workloads), f.setting,
                                       f.message, f.fix + leave))
                           for f in findings(raw, env)]
        found.problems += [str(p) for p in _secret_keys(where, workloads, known)]
    return found


_KEY_FIX = "or run 'shipyard deploy build' again"


def _secret_keys(where: str, workloads: list[Resource], known: list[Store]) -> list[Problem]:
    """A store's ``${VAR}`` must reach every container by a required Secret key; a problem per
    variable and fault names every object that has it."""
    faults: dict[tuple[str, str], tuple[list[str], str]] = {}  # (var, message) → objects, fix
    for workload in workloads:
        for _, container in containers(workload.obj):
            entries = {e.get("name"): e for e in container.get("env") or []}
            for store in known:
                for name, _ in store.variables:
                    fault = _key_fault(store, name, entries.get(name))
                    if fault:
                        labels = faults.setdefault((name, fault[0]), ([], fault[1]))[0]
                        labels.append(workload.label)
    return [Problem(where, ", ".join(dict.fromkeys(labels)), f"env {name}", message, fix)
            for (name, message), (labels, fix) in faults.items()]


def _key_fault(store: Store, name: str, entry: dict[str, Any] | None) -> tuple[str, str] | None:
    """(what is wrong, the fix) with how ``name`` of ``store`` reaches a container, if any."""
    what = f"{store.setting} reads it"
    if entry is None:
        return (f"{what}, and it is not set: the pod stops at start",
                f"add it as a secretKeyRef of the environment's Secret, {_KEY_FIX}")
    optional = f"remove optional: true (the pod then waits for the key), {_KEY_FIX}"
    if ((entry.get("valueFrom") or {}).get("secretKeyRef") or {}).get("optional"):
        return f"{what} from an optional Secret key: the pod may start without it", optional
    reason = local_reason(store.kind, str(entry.get("value", "")))
    if "value" in entry and reason and store.value == f"${{{name}}}":
        return f"{what} as a value that {reason}", "read it from the Secret (secretKeyRef)"
    return None


def _no_overlay(project: Project, env: str) -> list[str]:
    """``--env`` names an environment without an overlay: why, or that it is not built yet."""
    where = f"deploy/k8s/overlays/{env}"
    if env not in project.config.environments:
        known = ", ".join(project.config.environments)
        return [f"{where}: {env!r} is not an environment of {CONFIG_FILE} ({known})"]
    local = findings(raw_config((project.root / CONFIG_FILE).read_text()), env)
    if not local:
        return [f"{where}: missing; run 'shipyard deploy build --env {env}'"]
    return [f"{where}: no overlay, and {env} cannot run in a cluster: {f.setting} {f.message}; "
            f"fix: {f.fix}" for f in local]


def _check_version(version: str) -> None:
    from kubernetes_validate import utils

    shipped = sorted(set(utils.all_versions()), key=lambda v: tuple(map(int, v.split("."))))
    if version not in shipped:
        raise ConfigError(f"no Kubernetes {version} schemas in kubernetes-validate (it ships "
                          f"{shipped[0]} to {shipped[-1]}); pass --kubernetes-version with "
                          f"one of those, or set deploy.kubernetes_version")


def _up_to_date(root: Path, env: str, resources: list[Resource], into: Check) -> None:
    path = k8s_dir(root) / "rendered" / f"{env}.yaml"
    relative = path.relative_to(root)
    if not path.is_file():
        into.problems.append(f"{relative}: missing; run 'shipyard deploy build'")
    elif path.read_text() != rendered_text(env, [r.obj for r in resources]):
        into.problems.append(f"{relative}: is not the rendering of deploy/k8s/overlays/{env} "
                             f"(edited by hand, or the kustomization changed); run 'shipyard "
                             f"deploy build' to write it again")


def _kubectl_agrees(root: Path, rendered: dict[str, list[Resource]]) -> Check:
    """Where kubectl is installed, its kustomize must render each overlay as Shipyard did."""
    found = Check("kubectl kustomize agrees", "the same objects, in the same order",
                  len(rendered))
    for env, resources in rendered.items():
        overlay = k8s_dir(root) / "overlays" / env
        done = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True,
                              text=True, timeout=120, check=False)
        if done.returncode != 0:
            found.problems.append(f"{overlay.relative_to(root)}: kubectl kustomize failed: "
                                  f"{done.stderr.strip()[:500]}")
        elif [d for d in yaml.safe_load_all(done.stdout) if d] != [r.obj for r in resources]:
            found.problems.append(f"{overlay.relative_to(root)}: kubectl kustomize renders "
                                  f"other objects than Shipyard: compare 'kubectl kustomize "
                                  f"{overlay.relative_to(root)}' with deploy/k8s/rendered/"
                                  f"{env}.yaml")
    return found


def _config_copy(root: Path, into: Check) -> None:
    copy = k8s_dir(root) / "base" / CONFIG_FILE
    if not copy.is_file() or copy.read_text() != (root / CONFIG_FILE).read_text():
        into.problems.append(f"{copy.relative_to(root)}: is not the project's {CONFIG_FILE} "
                             f"(the ConfigMap would serve an old configuration); run "
                             f"'shipyard deploy build'")


def _schemas(resources: list[Resource], version: str, overlays: int) -> Check:
    import kubernetes_validate

    found = Check(f"Kubernetes {version} schemas", f"{overlays} overlay(s), strict",
                  len(resources))
    for resource in resources:
        try:
            kubernetes_validate.validate(resource.obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(p) for p in error.path) or "(the object)"
            found.problems.append(f"{resource.source}: {resource.label} {where}: "
                                  f"{error.message} (Kubernetes {version} schema); fix the "
                                  f"field or run 'shipyard deploy build' again")
        except kubernetes_validate.SchemaNotFoundError:
            found.problems.append(
                f"{resource.source}: {resource.label}: Kubernetes {version} has no "
                f"{resource.obj.get('apiVersion')} {resource.kind}; use a served apiVersion")
    return found


@cache
def _workflow_schema() -> dict[str, Any]:
    """GitHub's workflow schema as check-jsonschema vendors it (no network)."""
    vendored = package_files.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendored / "github-workflows.json").read_text())
    return schema


def _workflows(root: Path) -> Check:
    from jsonschema import Draft7Validator

    files = sorted((root / WORKFLOW_DIR).glob("*.y*ml"))
    found = Check("GitHub workflow schema", f"{WORKFLOW_DIR}/*.yml, secrets only from secrets.*",
                  len(files))
    if not files:
        found.problems.append(f"{WORKFLOW_DIR}: no workflows; run 'shipyard deploy build'")
    validator = Draft7Validator(_workflow_schema())
    for path in files:
        relative = path.relative_to(root)
        try:
            workflow = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            found.problems.append(f"{relative}: not valid YAML: {error}")
            continue
        if isinstance(workflow, dict) and True in workflow:  # YAML 1.1 reads a bare `on` as true
            workflow["on"] = workflow.pop(True)
        for invalid in sorted(validator.iter_errors(workflow), key=lambda e: list(e.path))[:5]:
            where = ".".join(str(p) for p in invalid.path) or "(the workflow)"
            found.problems.append(f"{relative}: {where}: {invalid.message[:300]} (GitHub "
                                  f"workflow schema)")
        found.problems += [f"{relative}: {where}: {name} is set to a value, not a secret; fix: "
                           f"{name}: ${{{{ secrets.{name} }}}}"
                           for where, name in _inline_secrets(workflow)]
    return found


def _inline_secrets(node: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, name) of every ``env`` entry with a secret-looking name not read from secrets."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if key == "env" and isinstance(value, dict):
                found += [(f"{here}.{name}", str(name)) for name, item in value.items()
                          if is_secret_name(str(name)) and isinstance(item, str)
                          and not _SECRET_EXPRESSION.match(item.strip())]
            else:
                found += _inline_secrets(value, here)
    elif isinstance(node, list):
        for number, item in enumerate(node):
            found += _inline_secrets(item, f"{path}[{number}]")
    return found


def _image(root: Path) -> Check:
    dockerfile = root / DEPLOY_DIR / "Dockerfile"
    found = Check("image definition", "deploy/Dockerfile, .dockerignore", 2)
    if not dockerfile.is_file():
        found.problems.append("deploy/Dockerfile: missing; run 'shipyard deploy build'")
        return found
    text = dockerfile.read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    if not users or users[-1].split(":")[0] in ("0", "root"):
        found.problems.append("deploy/Dockerfile: USER: the image runs as root; fix: end with "
                              "USER 10001 (a fixed non-root UID)")
    if not re.search(r"^HEALTHCHECK\s", text, re.MULTILINE):
        found.problems.append("deploy/Dockerfile: HEALTHCHECK: none; fix: HEALTHCHECK CMD "
                              "[\"python3\", \"/usr/local/bin/shipyard-probe\", \"/health\"]")
    for name in re.findall(r"^(?:ENV|ARG)\s+([A-Za-z_]\w*)=\S", text, re.MULTILINE):
        if is_secret_name(name):
            found.problems.append(f"deploy/Dockerfile: {name}: a secret in a layer (ENV/ARG "
                                  f"values stay in the image); fix: pass it at run time")
    if re.search(r"^FROM\s+\S+:latest\b", text, re.MULTILINE | re.IGNORECASE):
        found.problems.append("deploy/Dockerfile: FROM: base image tagged latest; fix: pin it")
    ignore = root / ".dockerignore"
    entries = ignore.read_text().split() if ignore.is_file() else []
    missing = [e for e in _IGNORED if not any(e in line for line in entries)]
    if missing:
        found.problems.append(f".dockerignore: {', '.join(missing)} not excluded: they would "
                              f"be copied into the image; fix: add them")
    return found
