"""GitHub Actions workflows of a project: CI on pull requests, CD on main, retraining.

They are written to the project's ``.github/workflows/`` (where GitHub reads them when the
project folder is the repository; in a monorepo, move them to the repository's root and set
``defaults.run.working-directory``). Every secret comes from ``${{ secrets.NAME }}``: the
``${VAR}`` names of ``shipyard.yaml`` and the cluster's and registry's credentials. The manual
approval before production is the GitHub environment ``production``: give it required
reviewers in the repository's settings (a workflow file cannot).
"""

from __future__ import annotations

from typing import Any

from shipyard.config.schema import ProjectConfig
from shipyard.deploy.image import GENERATED
from shipyard.deploy.kubernetes import Names
from shipyard.deploy.kustomize import dump
from shipyard.deploy.stores import API_KEYS, raw_config, secret_vars

__all__ = ["WORKFLOW_DIR", "workflows"]

WORKFLOW_DIR = ".github/workflows"
_PYTHON = "3.11"
Obj = dict[str, Any]

_INSTALL = """python -m pip install -r deploy/requirements.lock
wheel=$(ls deploy/wheels/shipyard-*.whl 2>/dev/null | head -n 1)
python -m pip install --no-deps "${wheel:-shipyard==$SHIPYARD_VERSION}"
shipyard --version"""


_BUILD_AND_PUSH = """\
echo "$REGISTRY_PASSWORD" | docker login "${IMAGE%%/*}" -u "$REGISTRY_USER" --password-stdin
docker build -f deploy/Dockerfile -t "$IMAGE:${{ github.sha }}" .
docker push "$IMAGE:${{ github.sha }}"
"""


def _setup(version: str) -> list[Obj]:
    return [
        {"uses": "actions/checkout@v4"},
        {"uses": "actions/setup-python@v5",
         "with": {"python-version": _PYTHON, "cache": "pip",
                  "cache-dependency-path": "deploy/requirements.lock"}},
        {"name": "Install Shipyard and the pinned dependencies",
         "env": {"SHIPYARD_VERSION": version}, "run": _INSTALL},
    ]


def _secrets_step(config_text: str) -> list[Obj]:
    """The ``${VAR}`` of shipyard.yaml from the repository's secrets, exported only when set.

    An unset secret reads as an empty string in a workflow; exported, it would replace the
    default of ``${VAR:-default}`` with nothing, so only the set ones reach the job.
    """
    names = [v.name for v in secret_vars(raw_config(config_text)) if v.name != API_KEYS]
    if not names:
        return []
    return [{"name": "Store URLs and credentials from the repository's secrets",
             "env": {n: f"${{{{ secrets.{n} }}}}" for n in names},
             "run": f"for name in {' '.join(names)}; do\n"
                    '  if [ -n "${!name}" ]; then echo "$name=${!name}" >> "$GITHUB_ENV"; fi\n'
                    "done"}]


def _models(config: ProjectConfig) -> list[tuple[str, str]]:
    return [(name, model.pipeline) for name, model in config.models.items()]


def _train_steps(config: ProjectConfig, env: str) -> list[Obj]:
    steps: list[Obj] = []
    if config.tables:
        steps.append({"name": f"Ingest ({env})", "run": f"shipyard ingest --env {env}"})
    for pipeline in sorted({p for _, p in _models(config)}):
        steps.append({"name": f"Run {pipeline}, gate the model (a rejected one exits 4)",
                      "run": f"shipyard run {pipeline} --env {env}"})
    return steps


def _promote_steps(config: ProjectConfig, env: str) -> list[Obj]:
    """Promote each model's staging version (the one that just passed its gate)."""
    return [{"name": f"Promote {name}'s staging version ({env})", "run": (
        "version=$(python -c \"from shipyard.project import Project; "
        "from shipyard.registry import Registry; "
        f"print(Registry.of(Project.open('.', '{env}')).alias('{name}', 'staging') or '')\")\n"
        f"if [ -n \"$version\" ]; then shipyard models promote {name} \"$version\" --env {env} "
        "--reason \"CD ${{ github.sha }}\"; fi")} for name, _ in _models(config)]


def _secret_step(names: Names, env: str, namespace: str, config_text: str) -> Obj:
    """The namespace's Secret, written from the GitHub environment's secrets (the set ones):
    the pods read the store URLs and API keys from it by key."""
    variables = [v.name for v in secret_vars(raw_config(config_text), env)]
    return {"name": f"Secret {names.secret} from this environment's secrets", "run": "\n".join([
        "args=()",
        f"for name in {' '.join(variables)}; do",
        '  if [ -n "${!name}" ]; then args+=("--from-literal=$name=${!name}"); fi',
        "done",
        f"kubectl create namespace {namespace} --dry-run=client -o yaml | kubectl apply -f -",
        # server-side: no last-applied annotation, which would hold the values in clear
        (f'kubectl -n {namespace} create secret generic {names.secret} "${{args[@]}}" '
         "--dry-run=client -o yaml | kubectl apply --server-side --force-conflicts -f -")]),
        "env": {n: f"${{{{ secrets.{n} }}}}" for n in variables}}


def _deploy_steps(names: Names, env: str, namespace: str, url_var: str,
                  config_text: str) -> list[Obj]:
    return [
        {"name": "Kubernetes credentials", "run": (
            'mkdir -p ~/.kube && printf "%s" "$KUBECONFIG_DATA" > ~/.kube/config && '
            "chmod 600 ~/.kube/config"),
         "env": {"KUBECONFIG_DATA": f"${{{{ secrets.KUBECONFIG_{env.upper()} }}}}"}},
        _secret_step(names, env, namespace, config_text),
        {"name": f"Apply the {env} overlay with this commit's image", "run": "\n".join([
            f"cd deploy/k8s/overlays/{env}",
            f'kustomize edit set image "{names.image}=$IMAGE:${{{{ github.sha }}}}"',
            "cd -",
            f"kubectl apply -k deploy/k8s/overlays/{env}",
            f"kubectl -n {namespace} rollout status deployment/{names.app} --timeout=10m"]),
         "env": {"IMAGE": "${{ vars.IMAGE }}"}},
        {"name": f"HTTP API tests against {env}",
         # the first of the keys, without its ":role" suffix (keys hold no ':')
         "run": ('FIRST="${SHIPYARD_API_KEYS%%,*}"; SHIPYARD_API_KEY="${FIRST%%:*}" '
                 f'shipyard deploy smoke "${{{{ vars.{url_var} }}}}"'),
         "env": {API_KEYS: f"${{{{ secrets.{API_KEYS} }}}}"}},
    ]


def _dump(workflow: Obj) -> str:
    return f"# {GENERATED}\n" + dump(workflow)


def workflows(config: ProjectConfig, envs: list[str], config_text: str = "",
              targets: list[str] | None = None) -> dict[str, str]:
    """``.github/workflows/{ci,cd,retrain}.yml`` of the project, by path: CI and training in
    ``envs``, deployment of the Kubernetes ``targets`` (default: ``envs``)."""
    from shipyard._version import __version__

    names = Names.of(config)
    dev = envs[0]
    prod = "prod" if "prod" in envs else envs[-1]
    clusters = envs if targets is None else targets
    setup = [*_setup(__version__), *_secrets_step(config_text)]
    ci = {
        "name": "ci",
        "on": {"pull_request": None, "workflow_dispatch": None},
        "permissions": {"contents": "read"},
        "concurrency": {"group": "ci-${{ github.ref }}", "cancel-in-progress": True},
        "jobs": {"test": {
            "runs-on": "ubuntu-latest", "timeout-minutes": 30,
            "steps": [*setup,
                      {"name": "Lint", "run": "python -m pip install ruff pytest\n"
                                              "ruff check ."},
                      {"name": "Tests", "run": "if [ -d tests ]; then python -m pytest -q tests; fi"},
                      {"name": "Deployment files are valid",
                       "run": "shipyard deploy validate"},
                      *({"name": "Set up", "run": command}
                        for command in config.deploy.ci_setup),
                      *([{"name": "Ingest", "run": f"shipyard ingest --env {dev}"}]
                        if config.tables else []),
                      *({"name": f"Smoke run of {p}: 5% of the data, one trial, registers "
                                 "nothing",
                         "run": f"shipyard run {p} --smoke --sample 0.05 --env {dev}"}
                        for p in sorted({p for _, p in _models(config)}))]}},
    }
    overlay_ns = {env: ((config.deploy.environments.get(env) and
                         config.deploy.environments[env].namespace) or names.namespace(env))
                  for env in clusters}
    jobs: Obj = {
        "train": {"runs-on": "ubuntu-latest", "timeout-minutes": 60,
                  "steps": [*setup, *_train_steps(config, dev), *_promote_steps(config, dev)]},
        "image": {"needs": "train", "runs-on": "ubuntu-latest", "timeout-minutes": 30,
                  "permissions": {"contents": "read", "packages": "write"},
                  "steps": [{"uses": "actions/checkout@v4"},
                            {"name": "Build and push the image", "run": _BUILD_AND_PUSH,
                             "env": {"IMAGE": "${{ vars.IMAGE }}",
                                     "REGISTRY_USER": "${{ secrets.REGISTRY_USER }}",
                                     "REGISTRY_PASSWORD": "${{ secrets.REGISTRY_PASSWORD }}"}}]},
    }
    first = clusters[0] if clusters else None
    last = "prod" if "prod" in clusters else (clusters[-1] if clusters else None)
    if first is not None:
        jobs[f"deploy-{first}"] = {
            "needs": "image", "runs-on": "ubuntu-latest", "timeout-minutes": 30,
            "environment": {"name": first, "url": f"${{{{ vars.{first.upper()}_URL }}}}"},
            "steps": [*setup, *_deploy_steps(names, first, overlay_ns[first],
                                             f"{first.upper()}_URL", config_text)]}
    if last is not None and last != first:
        jobs[f"deploy-{last}"] = {
            "needs": f"deploy-{first}", "runs-on": "ubuntu-latest", "timeout-minutes": 60,
            # the approval: the environment's required reviewers (repository settings)
            "environment": {"name": "production", "url": f"${{{{ vars.{last.upper()}_URL }}}}"},
            "steps": [*setup, *_train_steps(config, last), *_promote_steps(config, last),
                      *_deploy_steps(names, last, overlay_ns[last], f"{last.upper()}_URL",
                                     config_text)]}
    cd = {"name": "cd", "on": {"push": {"branches": ["main"]}, "workflow_dispatch": None},
          "permissions": {"contents": "read"},
          "concurrency": {"group": "cd", "cancel-in-progress": False},
          "jobs": jobs}
    retrain = {
        "name": "retrain",
        "on": {"schedule": [{"cron": "0 3 * * 1"}], "workflow_dispatch": None},
        "permissions": {"contents": "read"},
        "concurrency": {"group": "retrain", "cancel-in-progress": False},
        "jobs": {"retrain": {
            "runs-on": "ubuntu-latest", "timeout-minutes": 120,
            "environment": {"name": prod},
            # a new version passes its gate to `staging`; promotion stays a person's decision
            "steps": [*setup, *_train_steps(config, prod)]}},
    }
    return {f"{WORKFLOW_DIR}/ci.yml": _dump(ci), f"{WORKFLOW_DIR}/cd.yml": _dump(cd),
            f"{WORKFLOW_DIR}/retrain.yml": _dump(retrain)}
