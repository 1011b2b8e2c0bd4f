"""Shipyard's own checks of Kubernetes objects: what a schema accepts but production should not.

Each policy is a function from one rendered object (with the file it came from) to the
problems it finds; each problem names the file, the object, the field and the fix, so that a
reviewer can act on the message alone. :data:`POLICIES` lists them with what they check, for
the table ``shipyard deploy validate`` prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from shipyard.deploy.kustomize import Resource, containers, pod_specs
from shipyard.redact import is_secret_name

__all__ = ["POLICIES", "Problem", "check"]

_CREDENTIALS = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"]+:(?!\$\{)[^@\s/'\"]+@")
_REBUILD = "or run 'shipyard deploy build' again"


@dataclass(frozen=True)
class Problem:
    """One finding: where (file, object, field), what is wrong, and how to fix it."""

    file: str
    what: str
    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}: {self.what} {self.field}: {self.message}; fix: {self.fix}"


Policy = Callable[[Resource], Iterator[Problem]]


def _problem(resource: Resource, field: str, message: str, fix: str) -> Problem:
    return Problem(resource.source, resource.label, field, message, fix)


def probes(resource: Resource) -> Iterator[Problem]:
    """A server container without liveness and readiness probes is never restarted when stuck
    and gets traffic before it can answer."""
    if resource.kind != "Deployment":
        return
    wanted = {"livenessProbe": "an httpGet on /health", "readinessProbe": "a probe of /ready",
              "startupProbe": "an httpGet on /health with a failureThreshold for slow starts"}
    for path, container in containers(resource.obj):
        if path.split(".")[-1].startswith("initContainers"):
            continue
        for probe, fix in wanted.items():
            if not isinstance(container.get(probe), dict):
                yield _problem(resource, f"{path}.{probe}", "no probe", f"add {fix}, {_REBUILD}")


def non_root(resource: Resource) -> Iterator[Problem]:
    """Pods run as a fixed non-root UID, without privilege escalation or capabilities."""
    for pod in pod_specs(resource.obj):
        prefix = ("spec.jobTemplate.spec.template.spec" if resource.kind == "CronJob"
                  else "spec.template.spec")
        pod_context = pod.get("securityContext") or {}
        for path, container in containers(resource.obj):
            context = container.get("securityContext") or {}
            user = context.get("runAsUser", pod_context.get("runAsUser"))
            if user == 0:
                yield _problem(resource, f"{path}.securityContext.runAsUser", "runs as root (0)",
                               "set runAsUser to the image's UID (10001)")
            elif not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
                yield _problem(resource, f"{prefix}.securityContext.runAsNonRoot",
                               "may run as root (runAsNonRoot is not true)",
                               f"set runAsNonRoot: true and runAsUser: 10001, {_REBUILD}")
            if context.get("privileged") or context.get("allowPrivilegeEscalation", True):
                yield _problem(resource, f"{path}.securityContext.allowPrivilegeEscalation",
                               "privilege escalation is allowed",
                               "set allowPrivilegeEscalation: false (and no privileged)")
            if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
                yield _problem(resource, f"{path}.securityContext.capabilities.drop",
                               "capabilities are not dropped", "drop: [ALL]")
            if not context.get("readOnlyRootFilesystem"):
                yield _problem(resource, f"{path}.securityContext.readOnlyRootFilesystem",
                               "the root filesystem is writable",
                               "set readOnlyRootFilesystem: true; mount an emptyDir where the "
                               "process writes (/tmp)")


def limits(resource: Resource) -> Iterator[Problem]:
    """Every container requests CPU and memory (the HPA's percentage is of the request) and is
    limited (one pod must not starve a node)."""
    for path, container in containers(resource.obj):
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            missing = [r for r in ("cpu", "memory") if r not in (resources.get(kind) or {})]
            if missing:
                yield _problem(resource, f"{path}.resources.{kind}",
                               f"no {' and no '.join(missing)} {kind[:-1]}",
                               f"set deploy.resources in shipyard.yaml, {_REBUILD}")


def image_tag(resource: Resource) -> Iterator[Problem]:
    """An image tagged ``latest`` (or not tagged) is not a version: a rollback or a new node
    may run other code than was tested."""
    for path, container in containers(resource.obj):
        image = str(container.get("image", ""))
        if "@sha256:" in image:
            continue
        name = image.rsplit("/", 1)[-1]
        tag = name.split(":", 1)[1] if ":" in name else None
        if tag in (None, "latest"):
            yield _problem(resource, f"{path}.image", f"{image!r} is "
                           f"{'tagged latest' if tag else 'not tagged (latest)'}",
                           "pin a version or the commit's SHA (images: newTag in the overlay; "
                           "deploy.tag in shipyard.yaml)")


def inlined_secrets(resource: Resource) -> Iterator[Problem]:
    """Secret values never live in the manifests: env values reference a Secret by key."""
    if resource.kind == "Secret" and (resource.obj.get("data") or resource.obj.get("stringData")):
        yield _problem(resource, "data", "a Secret with its values is in the manifests",
                       "remove it; create the Secret out of git (kubectl create secret "
                       "generic ... --from-env-file, see deploy/k8s/overlays/<env>/secret.example.env)")
    for path, container in containers(resource.obj):
        for number, env in enumerate(container.get("env") or []):
            value = env.get("value")
            if not isinstance(value, str) or not value:
                continue
            if is_secret_name(str(env.get("name", ""))) or _CREDENTIALS.search(value):
                yield _problem(resource, f"{path}.env[{number}].value",
                               f"{env.get('name')} holds a secret value inline",
                               "use valueFrom.secretKeyRef with the Secret's key")
    if resource.kind == "ConfigMap":
        for key, value in (resource.obj.get("data") or {}).items():
            if isinstance(value, str) and _CREDENTIALS.search(value):
                yield _problem(resource, f"data.{key}", "holds a URL with a password",
                               "write ${VAR} in shipyard.yaml and put VAR in the Secret")


def autoscaling(resource: Resource) -> Iterator[Problem]:
    """The HPA's range is a range: min at most max."""
    if resource.kind != "HorizontalPodAutoscaler":
        return
    spec = resource.obj.get("spec") or {}
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
    if isinstance(high, int) and isinstance(low, int) and low > high:
        yield _problem(resource, "spec.minReplicas", f"minReplicas {low} is above maxReplicas "
                       f"{high}", "set deploy.autoscaling min <= max in shipyard.yaml")


def rollout(resource: Resource) -> Iterator[Problem]:
    """A rolling update that never lowers the serving replicas, a grace period to finish, and
    CronJobs that never overlap (two trainings of the same data at once)."""
    spec: dict[str, Any] = resource.obj.get("spec") or {}
    if resource.kind == "Deployment":
        strategy = spec.get("strategy") or {}
        if (strategy.get("type", "RollingUpdate") != "RollingUpdate"
                or (strategy.get("rollingUpdate") or {}).get("maxUnavailable") != 0):
            yield _problem(resource, "spec.strategy.rollingUpdate.maxUnavailable",
                           "a rollout may take serving pods away first",
                           "type: RollingUpdate with maxUnavailable: 0")
        pod = (spec.get("template") or {}).get("spec") or {}
        if "terminationGracePeriodSeconds" not in pod:
            yield _problem(resource, "spec.template.spec.terminationGracePeriodSeconds",
                           "no grace period set", "set deploy.grace_period_s, " + _REBUILD)
    if resource.kind == "CronJob" and spec.get("concurrencyPolicy") != "Forbid":
        yield _problem(resource, "spec.concurrencyPolicy", "runs may overlap",
                       "concurrencyPolicy: Forbid")


POLICIES: dict[str, tuple[str, Policy]] = {
    "probes": ("liveness, readiness and startup probes", probes),
    "non-root": ("non-root UID, no escalation, capabilities dropped, read-only root", non_root),
    "limits": ("CPU and memory requests and limits", limits),
    "image tag": ("no image tagged latest", image_tag),
    "secrets": ("no secret value inlined", inlined_secrets),
    "autoscaling": ("HPA min at most max", autoscaling),
    "rollout": ("maxUnavailable 0, grace period, CronJobs Forbid", rollout),
}


def check(resources: list[Resource]) -> dict[str, list[Problem]]:
    """Every policy over every object, by policy name."""
    return {name: [p for r in resources for p in policy(r)]
            for name, (_, policy) in POLICIES.items()}
