"""Kubernetes objects of a project, as plain dicts: the kustomize base and its overlays.

The base holds what every environment shares: the server's Deployment, Service,
HorizontalPodAutoscaler and PodDisruptionBudget, its ServiceAccount (no API token mounted), a
NetworkPolicy (:func:`_network_policy`), and one CronJob per schedule running the same image.
An overlay per environment sets its namespace, its ``SHIPYARD_ENV``, the image, what
``deploy.environments.<env>`` changes (replicas, resources, an Ingress), and the Secret keys
its pods read. Secrets are referenced by name and key, never written: their names are the
``${VAR}`` the environment's part of ``shipyard.yaml`` uses
(:func:`shipyard.deploy.stores.secret_vars`; a store's is a required key, so a pod without it
does not start) plus ``SHIPYARD_API_KEYS`` for the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shipyard.config.schema import (
    AutoscalingConfig,
    ProjectConfig,
    ResourcesConfig,
    ScheduleConfig,
)
from shipyard.deploy.stores import API_KEYS, SecretVar, raw_config, secret_vars

__all__ = ["Names", "base_objects", "default_schedules", "overlay_patches"]

CONFIG_PATH = "/app/shipyard.yaml"

Obj = dict[str, Any]


@dataclass(frozen=True)
class Names:
    """The names every object of one project derives from (DNS-1123 labels)."""

    app: str
    image: str

    @classmethod
    def of(cls, config: ProjectConfig) -> Names:
        app = re.sub(r"[^a-z0-9-]+", "-", config.project.lower()).strip("-")[:40] or "shipyard"
        return cls(app=app, image=config.deploy.image or app)

    @property
    def secret(self) -> str:
        return f"{self.app}-secrets"

    @property
    def config(self) -> str:
        return f"{self.app}-config"

    @property
    def labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.app, "app.kubernetes.io/managed-by": "shipyard"}

    def selector(self, component: str) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.app, "app.kubernetes.io/component": component}

    def namespace(self, env: str) -> str:
        return f"{self.app}-{env}".lower().replace("_", "-")


def default_schedules(config: ProjectConfig) -> dict[str, ScheduleConfig]:
    """The CronJobs a project gets unless ``deploy.schedules`` names its own.

    Ingest nightly if it has tables; each model's training pipeline at its ``schedule`` (or
    after the ingest); recommendations after training if a recommender is served; monitoring
    rules at ``monitoring.check_every`` (or every 15 minutes) if there are rules, and the
    prediction logs' compaction at ``monitoring.compact_every`` (daily by default when the
    project has models, see :meth:`ProjectConfig.compact_every`).
    """
    if config.deploy.schedules is not None:
        return dict(config.deploy.schedules)
    found: dict[str, ScheduleConfig] = {}
    if config.tables:
        found["ingest"] = ScheduleConfig(cron="0 2 * * *", command="ingest")
    trained = {m.pipeline for m in config.models.values()}
    for name, pipeline in config.pipelines.items():
        if pipeline.schedule or name in trained:
            found[_dns(f"run-{name}")] = ScheduleConfig(
                cron=pipeline.schedule or "0 3 * * *", command=f"run {name}")
    if config.serving.recommender and config.serving.recommender in config.models:
        found["recommend"] = ScheduleConfig(
            cron="0 5 * * *", command=f"recommend --model {config.serving.recommender}")
    if config.monitoring.rules:
        found["monitor-check"] = ScheduleConfig(
            cron=_every(config.monitoring.check_every or "15m"), command="monitor check")
    compact_every = config.compact_every()
    if compact_every:
        found["monitor-compact"] = ScheduleConfig(cron=_every(compact_every),
                                                  command="monitor compact")
    return found


def _dns(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")


def _every(duration: str) -> str:
    """A cron line for "every 15m / 2h / 1d" (rounded to what cron can say)."""
    number, unit = int(re.sub(r"\D", "", duration) or 1), duration.strip()[-1]
    if unit in "sm":
        minutes = max(1, number if unit == "m" else number // 60)
        return "* * * * *" if minutes == 1 else f"*/{min(minutes, 59)} * * * *"
    if unit == "h":
        return "0 * * * *" if number <= 1 else f"0 */{min(number, 23)} * * *"
    return "0 0 * * *" if unit == "d" else "0 0 * * 1"


def _resources(resources: ResourcesConfig) -> Obj:
    return {"requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
            "limits": {"cpu": resources.cpu_limit, "memory": resources.memory_limit}}


def _container_security() -> Obj:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}


def _pod_security(uid: int) -> Obj:
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"}}


def _env(names: Names, *, with_keys: bool, port: int) -> list[Obj]:
    """What every environment's pods share; the overlay adds its own Secret keys."""
    env: list[Obj] = [
        {"name": "SHIPYARD_ENV", "valueFrom": {"configMapKeyRef": {
            "name": names.config, "key": "SHIPYARD_ENV"}}},
        {"name": "SHIPYARD_PORT", "value": str(port)},
    ]
    return env + (_secret_env(names, [SecretVar(API_KEYS, False)]) if with_keys else [])


def _secret_env(names: Names, variables: list[SecretVar]) -> list[Obj]:
    found = []
    for var in variables:
        ref: Obj = {"name": names.secret, "key": var.name}
        if var.optional:
            ref["optional"] = True
        found.append({"name": var.name, "valueFrom": {"secretKeyRef": ref}})
    return found


def _volumes(names: Names) -> tuple[list[Obj], list[Obj]]:
    """An emptyDir for /tmp (scratch) under a read-only root, and shipyard.yaml from the
    ConfigMap over the image's copy. No store is a folder of the pod: an environment rendered
    here names servers (:mod:`shipyard.deploy.stores`), and a write elsewhere fails loudly."""
    volumes: list[Obj] = [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                          {"name": "config", "configMap": {"name": names.config}}]
    mounts: list[Obj] = [{"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - a pod's own emptyDir
                         {"name": "config", "mountPath": CONFIG_PATH, "subPath": "shipyard.yaml",
                          "readOnly": True}]
    return volumes, mounts


def _pod(names: Names, config: ProjectConfig, container: Obj) -> Obj:
    volumes, mounts = _volumes(names)
    container["volumeMounts"] = mounts
    return {"serviceAccountName": names.app, "automountServiceAccountToken": False,
            "securityContext": _pod_security(config.deploy.uid),
            "containers": [container], "volumes": volumes}


def _deployment(names: Names, config: ProjectConfig) -> Obj:
    deploy = config.deploy
    http = {"path": "/health", "port": "http"}
    container: Obj = {
        "name": "server",
        "image": f"{names.image}:{deploy.tag}",
        "imagePullPolicy": "IfNotPresent",
        "args": ["serve"],
        "ports": [{"name": "http", "containerPort": deploy.port, "protocol": "TCP"}],
        "env": _env(names, with_keys=True, port=deploy.port),
        "resources": _resources(deploy.resources),
        "securityContext": _container_security(),
        # up within 2 minutes (imports, registry reads), then alive while /health answers
        "startupProbe": {"httpGet": http, "periodSeconds": 2, "failureThreshold": 60,
                         "timeoutSeconds": 2},
        "livenessProbe": {"httpGet": http, "periodSeconds": 10, "failureThreshold": 3,
                          "timeoutSeconds": 2},
        # /ready needs the API key, which the probe inside the container already has
        "readinessProbe": {"exec": {"command": ["python3", "/usr/local/bin/shipyard-probe",
                                                "/ready"]},
                           "periodSeconds": 5, "failureThreshold": 2, "timeoutSeconds": 4},
        # keep serving while the endpoint is removed from the Service everywhere, then SIGTERM
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(deploy.drain_s)]}}},
    }
    pod = _pod(names, config, container)
    pod["terminationGracePeriodSeconds"] = deploy.grace_period_s
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": names.app, "labels": {**names.labels,
                                                   "app.kubernetes.io/component": "server"}},
        "spec": {
            # no `replicas`: the HorizontalPodAutoscaler owns it (an apply would reset it)
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": names.selector("server")},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": {**names.labels, **names.selector("server")}},
                         "spec": pod},
        },
    }


def _service(names: Names, config: ProjectConfig) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": names.app, "labels": names.labels},
            "spec": {"type": "ClusterIP", "selector": names.selector("server"),
                     "ports": [{"name": "http", "port": 80, "targetPort": "http",
                                "protocol": "TCP"}]}}


def _hpa(names: Names, scaling: AutoscalingConfig) -> Obj:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": names.app, "labels": names.labels},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": names.app},
                     "minReplicas": scaling.min, "maxReplicas": scaling.max,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization",
                                                   "averageUtilization": scaling.cpu}}}]}}


def _pdb(names: Names) -> Obj:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": names.app, "labels": names.labels},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": names.selector("server")}}}


_EGRESS_OPEN = (
    "open: the stores' hosts and ports are Secret values (${VAR} in shipyard.yaml) unknown when "
    "these manifests are built, an object store's endpoint may be any host, and a Dask client "
    "connects to each worker on a port of the worker's choosing; restrict it in an overlay "
    "once they are known")


def _network_policy(names: Names, config: ProjectConfig) -> Obj:
    """Every pod of the project takes traffic on the server's port only (CronJob pods listen
    on none). Egress stays open, and says why in an annotation: what the pods must reach is
    known only from the Secret's values, at run time."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": names.app, "labels": names.labels,
                         "annotations": {"shipyard.dev/egress": _EGRESS_OPEN}},
            "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": names.app}},
                     "policyTypes": ["Ingress"],
                     "ingress": [{"ports": [{"port": config.deploy.port, "protocol": "TCP"}]}]}}


def _service_account(names: Names) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": names.app, "labels": names.labels},
            "automountServiceAccountToken": False}


def _cronjob_name(names: Names, schedule: str) -> str:
    return f"{names.app}-{schedule}"[:52]  # CronJob names are at most 52 characters


def _cronjob(names: Names, config: ProjectConfig, name: str, schedule: ScheduleConfig) -> Obj:
    deploy = config.deploy
    container: Obj = {
        "name": "job",
        "image": f"{names.image}:{deploy.tag}",
        "imagePullPolicy": "IfNotPresent",
        "args": [*schedule.command.split(), "--env", "$(SHIPYARD_ENV)"],
        "env": _env(names, with_keys=False, port=deploy.port),
        "resources": _resources(deploy.resources),
        "securityContext": _container_security(),
    }
    pod = _pod(names, config, container)
    pod["restartPolicy"] = "Never"
    full = _cronjob_name(names, name)
    return {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": full, "labels": {**names.labels, "app.kubernetes.io/component": name}},
        "spec": {
            "schedule": schedule.cron.strip(), "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid", "suspend": schedule.suspend,
            "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 1, "template": {
                "metadata": {"labels": {**names.labels, **names.selector(name)}},
                "spec": pod}}},
        },
    }


def base_objects(config: ProjectConfig) -> dict[str, list[Obj]]:
    """The base's files (name → objects), without the generated ConfigMap."""
    names = Names.of(config)
    files: dict[str, list[Obj]] = {
        "serviceaccount.yaml": [_service_account(names)],
        "deployment.yaml": [_deployment(names, config)],
        "service.yaml": [_service(names, config)],
        "hpa.yaml": [_hpa(names, config.deploy.autoscaling)],
        "pdb.yaml": [_pdb(names)],
        "networkpolicy.yaml": [_network_policy(names, config)],
    }
    for name, schedule in default_schedules(config).items():
        files[f"cronjob-{name}.yaml"] = [_cronjob(names, config, name, schedule)]
    return files


def overlay_patches(config: ProjectConfig, env: str,
                    config_text: str) -> tuple[list[Obj], list[Obj]]:
    """What the overlay of ``env`` adds: (its own objects, strategic-merge patches)."""
    names = Names.of(config)
    settings = config.deploy.environments.get(env)
    namespace = (settings and settings.namespace) or names.namespace(env)
    objects: list[Obj] = [{"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": namespace, "labels": names.labels}}]
    host = (settings and settings.ingress_host) or config.deploy.ingress_host
    if host:
        objects.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": names.app, "labels": names.labels},
            "spec": {"rules": [{"host": host.replace("{env}", env), "http": {"paths": [{
                "path": "/", "pathType": "Prefix", "backend": {"service": {
                    "name": names.app, "port": {"name": "http"}}}}]}}]}})
    patches: list[Obj] = []
    if settings and settings.autoscaling:
        patches.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                        "metadata": {"name": names.app},
                        "spec": {"minReplicas": settings.autoscaling.min,
                                 "maxReplicas": settings.autoscaling.max,
                                 "metrics": _hpa(names, settings.autoscaling)["spec"]["metrics"]}})
    variables = _secret_env(names, [v for v in secret_vars(raw_config(config_text), env)
                                    if v.name != API_KEYS])
    server: Obj = {"name": "server", **({"env": variables} if variables else {})}
    if settings and settings.resources:
        server["resources"] = _resources(settings.resources)
    if len(server) > 1:
        patches.append({"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": names.app},
                        "spec": {"template": {"spec": {"containers": [server]}}}})
    patches += [{"apiVersion": "batch/v1", "kind": "CronJob",
                 "metadata": {"name": _cronjob_name(names, name)},
                 "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
                     {"name": "job", "env": variables}]}}}}}}
                for name in default_schedules(config) if variables]
    return objects, patches
