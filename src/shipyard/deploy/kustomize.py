"""The part of kustomize that Shipyard's own kustomization files use, to render them here.

kustomize is not needed to use the files (``kubectl apply -k deploy/k8s/overlays/prod``), but
``shipyard deploy validate`` must check what that command would apply, offline and without
kustomize installed. So this renders a kustomization folder the way kustomize does for the
fields Shipyard writes: ``resources`` (files and folders), ``namespace``,
``configMapGenerator`` (``files``, ``literals``, ``behavior: merge``, with kustomize's
content-hash name suffix and the references to it renamed), ``images`` and ``patches``
(strategic merge: maps merged, lists of named items merged by ``name``, new ones first). A
field it does not implement is an error that names it, rather than a rendering that silently
differs.

Every rendered object remembers the file it came from, so that a problem found in the
rendering names the file to fix.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shipyard.errors import ConfigError

__all__ = ["KUSTOMIZATION", "Resource", "containers", "dump", "dump_all", "load_all", "pod_specs",
           "render"]

KUSTOMIZATION = "kustomization.yaml"
_SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "configMapGenerator", "images",
              "patches", "generatorOptions"}
_CLUSTER_WIDE = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                 "StorageClass", "CustomResourceDefinition", "PriorityClass"}
# kustomize's legacy output order (api/resid/gvk.go): these kinds first, in this order, then
# the others by group, version and kind; within a kind by namespace and name
_ORDER = ["Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
          "ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
          "ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange",
          "PriorityClass", "PersistentVolume", "PersistentVolumeClaim", "Deployment",
          "StatefulSet", "CronJob", "PodDisruptionBudget"]

Obj = dict[str, Any]


@dataclass
class Resource:
    """One object of a rendering and the file it came from (relative to the deploy folder)."""

    obj: Obj
    source: str
    generated: str | None = None  # the generator's name, for a generated ConfigMap

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", "?"))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name", "?"))

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"


def load_all(path: Path, source: str) -> list[Resource]:
    """The YAML documents of a file, each a :class:`Resource`; a broken file names itself."""
    try:
        docs = list(yaml.safe_load_all(path.read_text()))
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: not valid YAML: {error}") from None
    found = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ConfigError(f"{source}: a document is not a mapping (apiVersion, kind, ...)")
        found.append(Resource(doc, source))
    return found


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (shipyard.yaml in the ConfigMap, workflow scripts) as ``|`` blocks;
    a repeated part is written out again, not as an anchor and alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(obj: Obj) -> str:
    """One YAML document, keys in the order built (readable, stable)."""
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100,
                     allow_unicode=True)


def dump_all(objects: list[Obj]) -> str:
    """YAML documents in the order given."""
    return "---\n".join(dump(o) for o in objects)


def render(folder: Path, root: Path) -> list[Resource]:
    """Render the kustomization in ``folder``; sources are named relative to ``root``."""
    resources = _build(folder.resolve(), root.resolve(), set())
    _suffix_generated(resources)
    return sorted(resources, key=_order)


def _order(resource: Resource) -> tuple[int, str, str, str]:
    group_version = str(resource.obj.get("apiVersion", ""))
    group, _, version = group_version.rpartition("/")
    known = _ORDER.index(resource.kind) if resource.kind in _ORDER else len(_ORDER)
    gvk = "" if known < len(_ORDER) else f"{group}_{version}_{resource.kind}"
    namespace = str((resource.obj.get("metadata") or {}).get("namespace", ""))
    return known, gvk, namespace, resource.name


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _build(folder: Path, root: Path, seen: set[Path]) -> list[Resource]:
    if folder in seen:
        raise ConfigError(f"{_rel(folder, root)}: kustomization includes itself")
    seen = seen | {folder}
    file = folder / KUSTOMIZATION
    where = _rel(file, root)
    if not file.is_file():
        raise ConfigError(f"{_rel(folder, root)} has no {KUSTOMIZATION}; run "
                          f"'shipyard deploy build' to write it")
    spec = yaml.safe_load(file.read_text()) or {}
    unknown = sorted(set(spec) - _SUPPORTED)
    if unknown:
        raise ConfigError(f"{where}: {', '.join(unknown)} is not rendered by Shipyard's "
                          f"renderer; use the fields 'shipyard deploy build' writes")
    resources = _resources(spec.get("resources", []), folder, root, seen, where)
    for generator in spec.get("configMapGenerator", []):
        _generate(generator, folder, resources, where)
    for patch in spec.get("patches", []):
        _patch(patch, folder, resources, where, root)
    for image in spec.get("images", []):
        _set_image(image, resources)
    if "namespace" in spec:
        for resource in resources:
            if resource.kind not in _CLUSTER_WIDE:
                resource.obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
    return resources


def _resources(entries: list[str], folder: Path, root: Path, seen: set[Path],
               where: str) -> list[Resource]:
    """The objects of ``resources``: files as they are, folders rendered first."""
    resources: list[Resource] = []
    for entry in entries:
        path = (folder / entry).resolve()
        if path.is_dir():
            resources += _build(path, root, seen)
        elif path.is_file():
            resources += load_all(path, _rel(path, root))
        else:
            raise ConfigError(f"{where}: resources entry {entry!r} does not exist")
    return resources


def _generate(generator: Obj, folder: Path, resources: list[Resource], where: str) -> None:
    name = generator["name"]
    data: dict[str, str] = {}
    for entry in generator.get("files", []):
        key, _, file = entry.partition("=") if "=" in entry else (Path(entry).name, "", entry)
        data[key] = (folder / file).read_text()
    for literal in generator.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    behavior = generator.get("behavior", "create")
    existing = [r for r in resources if r.generated == name]
    if behavior == "merge":
        if not existing:
            raise ConfigError(f"{where}: configMapGenerator {name!r} merges into a ConfigMap "
                              f"the base does not generate")
        existing[0].obj["data"].update(data)
        existing[0].source = where
        return
    if existing:
        raise ConfigError(f"{where}: configMapGenerator {name!r} is generated twice; use "
                          f"behavior: merge")
    resources.append(Resource({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": name}, "data": data}, where, generated=name))


def _patch(patch: Obj, folder: Path, resources: list[Resource], where: str, root: Path) -> None:
    if "path" not in patch:
        raise ConfigError(f"{where}: only patches with a path (a strategic merge patch file) "
                          f"are rendered by Shipyard")
    for change in load_all(folder / patch["path"], _rel(folder / patch["path"], root)):
        targets = [r for r in resources if r.kind == change.kind and r.name == change.name]
        if not targets:
            raise ConfigError(f"{change.source}: patches {change.label}, which the "
                              f"kustomization does not have")
        for target in targets:
            target.obj = _merge(target.obj, change.obj)


def _merge(base: Any, patch: Any) -> Any:
    """Strategic merge for what Shipyard patches: maps deep-merged, named lists by name."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if (isinstance(base, list) and isinstance(patch, list) and patch
            and all(isinstance(i, dict) and "name" in i for i in base + patch)):
        # as kustomize does: the patch's new items first, then the base's (merged)
        changes = {item["name"]: item for item in patch}
        known = {item["name"] for item in base}
        return ([copy.deepcopy(i) for i in patch if i["name"] not in known]
                + [_merge(i, changes[i["name"]]) if i["name"] in changes else dict(i)
                   for i in base])
    return copy.deepcopy(patch)


def pod_specs(obj: Obj) -> Iterator[Obj]:
    """The pod specs of a Deployment or a CronJob (or a Job, StatefulSet, DaemonSet)."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") or {}
    if isinstance(template.get("spec"), dict):
        yield template["spec"]


def containers(obj: Obj) -> Iterator[tuple[str, Obj]]:
    """(field path, container) of every container of an object's pods."""
    prefix = "spec.jobTemplate.spec.template.spec" if obj.get("kind") == "CronJob" \
        else "spec.template.spec"
    for pod in pod_specs(obj):
        for field in ("initContainers", "containers"):
            for number, container in enumerate(pod.get(field) or []):
                if isinstance(container, dict):
                    yield f"{prefix}.{field}[{number}]", container


def _set_image(image: Obj, resources: list[Resource]) -> None:
    for resource in resources:
        for _, container in containers(resource.obj):
            current = str(container.get("image", ""))
            name, tag = _split_image(current)
            if name == image["name"]:
                new_tag = image.get("newTag", tag)
                container["image"] = image.get("newName", name) + (f":{new_tag}" if new_tag else "")


def _split_image(image: str) -> tuple[str, str | None]:
    """``registry:5000/team/app:tag`` → (``registry:5000/team/app``, ``tag``)."""
    image = image.split("@", 1)[0]
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1:]
    return image, None


def _suffix_generated(resources: list[Resource]) -> None:
    """kustomize's name suffix: a hash of the ConfigMap's content, so that a change of
    shipyard.yaml rolls the pods; every reference to the ConfigMap is renamed with it."""
    renamed = {}
    for resource in resources:
        if resource.generated is None:
            continue
        name = resource.obj["metadata"]["name"]
        suffixed = f"{name}-{_hash(resource.obj['data'])}"
        resource.obj["metadata"]["name"] = suffixed
        renamed[name] = suffixed
    for resource in resources:
        for pod in pod_specs(resource.obj):
            for volume in pod.get("volumes") or []:
                ref = volume.get("configMap") or {}
                if ref.get("name") in renamed:
                    ref["name"] = renamed[ref["name"]]
            for _, container in containers(resource.obj):
                for env in container.get("env") or []:
                    ref = (env.get("valueFrom") or {}).get("configMapKeyRef") or {}
                    if ref.get("name") in renamed:
                        ref["name"] = renamed[ref["name"]]
                for source in container.get("envFrom") or []:
                    ref = source.get("configMapRef") or {}
                    if ref.get("name") in renamed:
                        ref["name"] = renamed[ref["name"]]


def _hash(data: dict[str, str]) -> str:
    """kustomize's ConfigMap hash: SHA-256 of Go's JSON of {data, kind, name} (keys sorted,
    the name empty: checked here against ``kubectl kustomize``), its first 10 hex digits with
    those that could spell words swapped out."""
    encoded = json.dumps({"data": data, "kind": "ConfigMap", "name": ""}, sort_keys=True,
                         separators=(",", ":"), ensure_ascii=False)
    encoded = encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))
