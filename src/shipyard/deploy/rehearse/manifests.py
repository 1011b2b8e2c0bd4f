"""The rendered manifests of one environment, read into what the rehearsal starts.

``deploy/k8s/rendered/<env>.yaml`` is what ``kubectl apply -k`` would apply; from it come the
server's container (its args, its environment with ConfigMap values and Secret keys resolved),
the HorizontalPodAutoscaler's bounds, the Deployment's rolling-update strategy, the readiness
probe, the preStop and grace period, and one container per CronJob. The image is the one
``deploy build`` describes: its ENTRYPOINT and the files it copies to ``/usr/local/bin`` are
read from ``deploy/Dockerfile`` and found in ``deploy/`` of the project, so a replica runs the
same entrypoint script and a probe the same probe script the container would.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.deploy.kustomize import load_all
from shipyard.errors import ConfigError

__all__ = ["Container", "Plan", "read_plan"]

Obj = dict[str, Any]
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass(frozen=True)
class Container:
    """One container as a process: argv (entrypoint + args, ``$(VAR)`` expanded as the kubelet
    does) and the environment the manifest gives it."""

    name: str
    argv: list[str]
    env: dict[str, str]


@dataclass(frozen=True)
class Probe:
    """A readiness probe: what it runs (an exec command or an httpGet path) and its timing."""

    exec: list[str] | None
    http_path: str | None
    period_s: int
    failure_threshold: int
    success_threshold: int
    timeout_s: int


@dataclass
class Plan:
    """What the rendered manifests of an environment say the rehearsal starts."""

    env: str
    rendered: Path
    config_text: str              # the ConfigMap's shipyard.yaml, mounted over /app's copy
    server: Container
    port: int                     # the container port (each replica gets its own here)
    min_replicas: int
    max_replicas: int
    max_surge: int
    max_unavailable: int
    readiness: Probe
    pre_stop_s: float             # a preStop `sleep N`
    grace_s: float                # terminationGracePeriodSeconds
    jobs: dict[str, Container] = field(default_factory=dict)  # CronJob name → its container
    image_files: dict[str, Path] = field(default_factory=dict)  # /usr/local/bin/x → deploy/y


def read_plan(root: Path, env: str, secrets: dict[str, str]) -> Plan:
    """The plan of ``env`` from ``root/deploy/k8s/rendered/<env>.yaml``; Secret keys from
    ``secrets`` (a missing required one is an error naming it and where it is read)."""
    rendered = root / "deploy" / "k8s" / "rendered" / f"{env}.yaml"
    if not rendered.is_file():
        raise ConfigError(f"{rendered} does not exist: run 'shipyard deploy build --env {env}' "
                          f"first (the rehearsal starts what the rendered manifests say)")
    objects = [r.obj for r in load_all(rendered, str(rendered))]
    by_kind: dict[str, list[Obj]] = {}
    for obj in objects:
        by_kind.setdefault(str(obj.get("kind")), []).append(obj)
    config_maps = {o["metadata"]["name"]: o.get("data") or {} for o in by_kind.get("ConfigMap", [])}
    entrypoint, image_files = _image(root)
    deployments = by_kind.get("Deployment", [])
    if len(deployments) != 1:
        raise ConfigError(f"{rendered}: {len(deployments)} Deployments; the rehearsal starts "
                          f"one server Deployment")
    deployment = deployments[0]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    server = _container(container, config_maps, secrets, entrypoint, rendered)
    hpa = (by_kind.get("HorizontalPodAutoscaler") or [{"spec": {}}])[0]["spec"]
    rolling = (deployment["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    jobs = {}
    for cronjob in by_kind.get("CronJob", []):
        job_pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        jobs[cronjob["metadata"]["name"]] = _container(job_pod["containers"][0], config_maps,
                                                       secrets, entrypoint, rendered)
    return Plan(
        env=env, rendered=rendered, config_text=_mounted_config(pod, config_maps),
        server=server, port=int(container["ports"][0]["containerPort"]),
        min_replicas=int(hpa.get("minReplicas", 1)),
        max_replicas=int(hpa.get("maxReplicas", hpa.get("minReplicas", 1))),
        max_surge=_count(rolling.get("maxSurge", 1)),
        max_unavailable=_count(rolling.get("maxUnavailable", 0)),
        readiness=_probe(container.get("readinessProbe") or {}),
        pre_stop_s=_pre_stop(container), grace_s=float(pod.get("terminationGracePeriodSeconds", 30)),
        jobs=jobs, image_files=image_files)


def _count(value: int | str) -> int:
    """maxSurge/maxUnavailable as a count (a percentage of one replica rounds up to 1)."""
    if isinstance(value, str) and value.endswith("%"):
        return 1 if int(value[:-1]) > 0 else 0
    return int(value)


def _image(root: Path) -> tuple[list[str], dict[str, Path]]:
    """The image's ENTRYPOINT and the deploy/ files it copies under /usr/local/bin."""
    dockerfile = root / "deploy" / "Dockerfile"
    if not dockerfile.is_file():
        raise ConfigError(f"{dockerfile} does not exist: run 'shipyard deploy build'")
    entrypoint: list[str] = []
    files: dict[str, Path] = {}
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if words[:1] == ["ENTRYPOINT"]:
            entrypoint = json.loads(line.split(None, 1)[1])
        elif words[:1] == ["COPY"] and len(words) == 3 and words[2].startswith("/usr/local/bin/"):
            files[words[2]] = root / words[1]
    return entrypoint, files


def _container(container: Obj, config_maps: dict[str, dict[str, str]], secrets: dict[str, str],
               entrypoint: list[str], rendered: Path) -> Container:
    env: dict[str, str] = {}
    missing = []
    for item in container.get("env") or []:
        source = item.get("valueFrom") or {}
        if "value" in item:
            env[item["name"]] = _expand(str(item["value"]), env)
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            env[item["name"]] = config_maps[ref["name"]][ref["key"]]
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            if ref["key"] in secrets:
                env[item["name"]] = secrets[ref["key"]]
            elif not ref.get("optional"):
                missing.append(ref["key"])
    if missing:
        raise ConfigError(f"{rendered}: container {container['name']!r} needs the Secret key(s) "
                          f"{', '.join(sorted(missing))}: give them in --secrets FILE (KEY=VALUE "
                          f"lines, e.g. the team.env of 'teamstack/team.py up') or export them")
    argv = [*(container.get("command") or entrypoint), *(container.get("args") or [])]
    return Container(name=container["name"], argv=[_expand(a, env) for a in argv], env=env)


def _expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion (an unknown variable stays as written)."""
    return _VAR.sub(lambda m: env.get(m.group(1), m.group(0)), text)


def _mounted_config(pod: Obj, config_maps: dict[str, dict[str, str]]) -> str:
    for volume in pod.get("volumes") or []:
        name = (volume.get("configMap") or {}).get("name")
        if name in config_maps and "shipyard.yaml" in config_maps[name]:
            return config_maps[name]["shipyard.yaml"]
    raise ConfigError("the Deployment mounts no ConfigMap with shipyard.yaml; run "
                      "'shipyard deploy build' again")


def _probe(probe: Obj) -> Probe:
    command = (probe.get("exec") or {}).get("command")
    http = probe.get("httpGet") or {}
    return Probe(exec=list(command) if command else None, http_path=http.get("path"),
                 period_s=int(probe.get("periodSeconds", 10)),
                 failure_threshold=int(probe.get("failureThreshold", 3)),
                 success_threshold=int(probe.get("successThreshold", 1)),
                 timeout_s=int(probe.get("timeoutSeconds", 1)))


def _pre_stop(container: Obj) -> float:
    command = (((container.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get(
        "command") or []
    return float(command[1]) if len(command) == 2 and command[0] == "sleep" else 0.0
