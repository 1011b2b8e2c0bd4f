"""``shipyard deploy build``: write deploy/ (and the CI workflows) from ``shipyard.yaml``.

Everything written is text to read, review and commit. Each run rewrites the generated files
from the configuration, so a change goes into ``shipyard.yaml``'s ``deploy:`` section, not into
the files; ``deploy/wheels/`` and a ``.dockerignore`` the user wrote are left alone.

Kubernetes overlays are written for the environments that can run in a cluster (every store a
server named by a required variable, :mod:`shipyard.deploy.stores`): a one-machine ``dev`` of
folders and SQLite gets none, since each pod would get empty stores of its own. An environment
named with ``--env`` or in ``deploy.environments`` is rendered as asked, and ``deploy
validate`` refuses it while its stores are local.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.config.load import CONFIG_FILE
from shipyard.deploy import image, kubernetes
from shipyard.deploy.kustomize import KUSTOMIZATION, dump_all, render
from shipyard.deploy.stores import findings, raw_config, secret_vars
from shipyard.deploy.workflows import workflows
from shipyard.errors import ConfigError
from shipyard.project import Project

__all__ = ["DEPLOY_DIR", "SECRET_EXAMPLE", "Written", "build_deploy", "k8s_dir"]

DEPLOY_DIR = "deploy"
SECRET_EXAMPLE = "secret.example.env"  # noqa: S105 - a file name
_HEADER = f"# {image.GENERATED}\n"
_WHEELS_README = """Wheels the image installs without an index: a shipyard-*.whl here is installed
instead of $SHIPYARD (shipyard deploy build --wheel puts the running Shipyard's here).
"""


def k8s_dir(root: Path) -> Path:
    return root / DEPLOY_DIR / "k8s"


@dataclass
class Written:
    """What a build wrote, relative to the project folder, and what a user should know."""

    root: Path
    files: list[str] = field(default_factory=list)
    envs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def write(self, relative: str, text: str, *, mode: int | None = None) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if mode is not None:
            path.chmod(mode)
        self.files.append(relative)

    def summary(self) -> list[str]:
        groups = {"image": [f for f in self.files if f == ".dockerignore"
                            or (f.startswith("deploy/") and "/k8s/" not in f)],
                  "kubernetes": [f for f in self.files if "/k8s/" in f],
                  "workflows": [f for f in self.files if f.startswith(".github/")]}
        return [(f"Wrote {len(self.files)} files into {self.root} (Kubernetes overlays: "
                 f"{', '.join(self.envs) or 'none'})")] + [
            f"  {kind:<10} {len(names):>2} files in "
            f"{', '.join(sorted({str(Path(n).parent) + '/' for n in names}))}"
            for kind, names in groups.items() if names]


def build_deploy(project: Project, envs: list[str] | None = None, *,
                 wheel: bool = False) -> Written:
    """Write the image definition, the kustomize base and an overlay (and its rendering) per
    environment that can run in a cluster (or per ``envs``), and the GitHub Actions
    workflows of ``project``."""
    config = project.config
    for name in [*(envs or []), *config.deploy.environments]:
        if name not in config.environments:
            known = ", ".join(config.environments)
            raise ConfigError(f"deploy: environment {name!r} is not declared in {CONFIG_FILE} "
                              f"(environments: {known})")
    config_text = (project.root / CONFIG_FILE).read_text()
    targets, notes = _targets(project, raw_config(config_text), envs)
    written = Written(project.root, envs=targets, warnings=notes)
    _write_image(written, project, wheel=wheel)
    _write_kubernetes(written, project, config_text, written.envs)
    for path, text in workflows(config, list(config.environments), config_text,
                                written.envs).items():
        written.write(path, text)
    drain = getattr(config.serving, "shutdown_grace_s", None)  # the server's own drain on SIGTERM
    if drain is not None and config.deploy.drain_s + drain >= config.deploy.grace_period_s:
        written.warnings.append(
            f"deploy.grace_period_s ({config.deploy.grace_period_s}) is not above deploy.drain_s "
            f"({config.deploy.drain_s}) + serving.shutdown_grace_s ({drain}): Kubernetes would "
            f"kill a pod still finishing requests; raise grace_period_s")
    return written


def _targets(project: Project, raw: dict[str, Any],
             envs: list[str] | None) -> tuple[list[str], list[str]]:
    """The environments to render: those asked for (``--env``, ``deploy.environments``) and
    those whose stores can serve pods; a note says why each other one has no overlay."""
    asked = envs or list(project.config.deploy.environments)
    targets = []
    notes = []
    for env in project.config.environments:
        local = sorted({f.setting for f in findings(raw, env)})
        if env in asked or (not envs and not local):
            targets.append(env)
        why = f"{', '.join(local)} (see 'shipyard deploy validate --env {env}')"
        if local and env in targets:
            notes.append(f"{env}: rendered as asked, but its stores cannot serve pods: {why}; "
                         f"deploy validate refuses it until they name servers")
        elif local and not envs:
            notes.append(f"{env}: no Kubernetes overlay: its stores cannot serve pods: {why}")
    if not targets:
        notes.append("no environment can run in a cluster: give one servers for its stores "
                     "(PostgreSQL, an object store, an MLflow server) by required ${VAR}")
    return targets, notes


def _write_image(written: Written, project: Project, *, wheel: bool) -> None:
    config = project.config
    written.write(f"{DEPLOY_DIR}/Dockerfile", image.dockerfile(config))
    written.write(f"{DEPLOY_DIR}/entrypoint.sh", image.entrypoint(), mode=0o755)
    written.write(f"{DEPLOY_DIR}/probe.py", image.probe(), mode=0o755)
    for kind, name in image.LOCKS.items():
        written.write(f"{DEPLOY_DIR}/{name}", image.lock(config, serve=kind == "serve"))
    wheels = project.root / DEPLOY_DIR / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    if not (wheels / "README").exists():
        written.write(f"{DEPLOY_DIR}/wheels/README", _WHEELS_README)
    if wheel:
        built = image.build_wheel(wheels)
        written.files.append(str(built.relative_to(project.root)))
    ignore = project.root / ".dockerignore"
    if ignore.exists() and image.GENERATED not in ignore.read_text():
        written.warnings.append(".dockerignore exists and was not written by Shipyard: left "
                                "as it is; check that it keeps .shipyard/, data and keys out")
    else:
        written.write(".dockerignore", image.DOCKERIGNORE)


def _write_kubernetes(written: Written, project: Project, config_text: str,
                      envs: list[str]) -> None:
    config = project.config
    names = kubernetes.Names.of(config)
    base = f"{DEPLOY_DIR}/k8s/base"
    files = kubernetes.base_objects(config)
    for old in (project.root / base).glob("cronjob-*.yaml"):
        old.unlink()  # a schedule removed from shipyard.yaml goes away here too
    for name, objects in files.items():
        written.write(f"{base}/{name}", _HEADER + dump_all(objects))
    written.write(f"{base}/shipyard.yaml", config_text)
    written.write(f"{base}/{KUSTOMIZATION}", _HEADER + dump_all([{
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": list(files),
        "configMapGenerator": [{"name": names.config, "files": ["shipyard.yaml"],
                                "literals": [f"SHIPYARD_ENV={next(iter(config.environments))}"]}],
    }]))
    stale = project.root / DEPLOY_DIR / "k8s" / SECRET_EXAMPLE  # one per overlay now
    if stale.is_file() and image.GENERATED in stale.read_text():
        stale.unlink()
    for env in envs:
        _write_overlay(written, project, env, config_text)
        overlay = project.root / DEPLOY_DIR / "k8s" / "overlays" / env
        rendered = render(overlay, project.root / DEPLOY_DIR)
        written.write(f"{DEPLOY_DIR}/k8s/rendered/{env}.yaml",
                      rendered_text(env, [r.obj for r in rendered]))


def rendered_text(env: str, objects: list[dict[str, object]]) -> str:
    return (f"# {image.GENERATED}\n# What `kubectl apply -k deploy/k8s/overlays/{env}` applies, "
            f"rendered by Shipyard (kustomize not needed).\n" + dump_all(objects))


def _write_overlay(written: Written, project: Project, env: str, config_text: str) -> None:
    config = project.config
    names = kubernetes.Names.of(config)
    folder = f"{DEPLOY_DIR}/k8s/overlays/{env}"
    objects, patches = kubernetes.overlay_patches(config, env, config_text)
    resources = ["../../base"]
    for obj in objects:
        file = f"{obj['kind'].lower()}.yaml"
        written.write(f"{folder}/{file}", _HEADER + dump_all([obj]))
        resources.append(file)
    kustomization: dict[str, object] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "namespace": objects[0]["metadata"]["name"],
        "resources": resources,
        "configMapGenerator": [{"name": names.config, "behavior": "merge",
                                "literals": [f"SHIPYARD_ENV={env}"]}],
        "images": [{"name": names.image, "newTag": config.deploy.tag}],
    }
    for old in (project.root / folder).glob("patch-*.yaml"):
        old.unlink()
    if patches:
        kustomization["patches"] = []
        for patch in patches:
            file = f"patch-{patch['kind'].lower()}-{patch['metadata']['name']}.yaml"
            written.write(f"{folder}/{file}", _HEADER + dump_all([patch]))
            kustomization["patches"].append({"path": file})  # type: ignore[attr-defined]
    written.write(f"{folder}/{KUSTOMIZATION}", _HEADER + dump_all([kustomization]))
    namespace = objects[0]["metadata"]["name"]
    variables = secret_vars(raw_config(config_text), env)
    written.write(f"{folder}/{SECRET_EXAMPLE}", "\n".join([
        f"# {image.GENERATED}",
        (f"# The Secret '{names.secret}' the pods of {env} read: names only. Fill a copy "
         f"(never commit it) and create it with"),
        f"#   kubectl -n {namespace} create secret generic {names.secret} --from-env-file=FILE",
        ("# Every key is required (a pod without one does not start) except those marked "
         "optional."),
        *(f"# optional\n{v.name}=" if v.optional else f"{v.name}=" for v in variables)]) + "\n")
