"""GitHub Actions workflows of a project: CI on pull requests, CD on main, retraining on demand.

They are written to the project's ``.github/workflows/`` (where GitHub reads them when the
project folder is the repository; in a monorepo, move them to the repository's root and set
``defaults.run.working-directory``). What they hold to, and why:

- **Pull requests get no secrets.** CI lints, tests, validates and smoke-runs the pipelines in
  the first environment (``dev``: folders and SQLite on the runner, 5% of the data, nothing
  registered); a pull request from anyone never sees a store's credentials.
- **Secrets belong to a GitHub environment**, named as the ``shipyard.yaml`` environment it
  deploys (``staging``, ``prod``): each deploy job reads only its environment's secrets, and the
  approval before production is that environment's required reviewers (repository settings; a
  workflow file cannot set them). The registry's credentials belong to the first one.
- **Training runs against the environment's stores, never on a runner's disk**: after the
  rollout, CD runs ingest, the training pipelines and the promotion as Kubernetes Jobs made
  from the Deployment's pod template (same image, ConfigMap, Secret and service account), so
  the lake, the registry and the databases are the cluster's, and the runner only waits.
- **Everything is pinned**: actions by commit SHA (the release in a comment), tools by version,
  Shipyard by the wheel in ``deploy/wheels/`` checked against its SHA-256 (never a
  ``shipyard==`` resolved from an index: that name on a public index is not this Shipyard), the
  image by the digest the push returned. Checkouts keep no credentials; each job gets the
  least ``permissions`` it needs.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from shipyard.config.schema import ProjectConfig
from shipyard.deploy.image import GENERATED, WHEEL_SUMS
from shipyard.deploy.kubernetes import Names
from shipyard.deploy.kustomize import dump
from shipyard.deploy.stores import API_KEYS, raw_config, secret_vars

__all__ = ["ACTIONS", "TOOLS", "WORKFLOW_DIR", "workflows"]

WORKFLOW_DIR = ".github/workflows"
_PYTHON = "3.11"
Obj = dict[str, Any]

# Actions by the commit of a release (a tag can be moved; a commit cannot), the release noted.
ACTIONS = {
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
}
# The lint and test tools at the versions Shipyard's own constraints.txt pins.
TOOLS = ("ruff==0.17.6", "pytest==9.2.0")
# The examples (and `shipyard init`) import Shipyard in a block of its own after the libraries:
# its own isort section, so that a generated project passes its own lint.
_RUFF = ("ruff check --config \"lint.isort.sections.shipyard = ['shipyard']\" "
         "--config \"lint.isort.section-order = ['future', 'standard-library', "
         "'third-party', 'shipyard', 'first-party', 'local-folder']\" .")

_INSTALL = f"""python -m pip install -r deploy/requirements.lock
if [ ! -f deploy/wheels/{WHEEL_SUMS} ]; then
  echo "::error::no Shipyard wheel in deploy/wheels/: shipyard deploy build --wheel, commit it"
  exit 1
fi
(cd deploy/wheels && sha256sum --check --strict {WHEEL_SUMS})
python -m pip install --no-index --no-deps "deploy/wheels/$(awk '{{print $2}}' deploy/wheels/{WHEEL_SUMS})"
shipyard --version"""

_BUILD_AND_PUSH = """\
echo "$REGISTRY_PASSWORD" | docker login "${IMAGE%%/*}" -u "$REGISTRY_USER" --password-stdin
docker build -f deploy/Dockerfile -t "$IMAGE:$GITHUB_SHA" .
docker push "$IMAGE:$GITHUB_SHA"
digest=$(docker inspect --format '{{index .RepoDigests 0}}' "$IMAGE:$GITHUB_SHA")
echo "digest=${digest#*@}" >> "$GITHUB_OUTPUT\""""

# in_cluster NAME COMMAND_JSON: one Job from the server's pod template (same image, ConfigMap,
# Secret, service account, security context), labelled apart from the Service's selector, its
# command replaced; waits for it, prints its logs, fails when it fails.
_IN_CLUSTER = """\
in_cluster() {
  prefix="$APP-$1"  # a Job's name is a label value too: at most 63 characters
  name="${prefix:0:50}-${GITHUB_SHA::8}-$GITHUB_RUN_ATTEMPT"
  kubectl -n "$NAMESPACE" get "deployment/$APP" -o json | jq --arg name "$name" \\
    --arg commit "$GITHUB_SHA" --argjson command "$2" '
    (.spec.template.metadata.labels + {"app.kubernetes.io/component": "cd"}) as $labels
    | {apiVersion: "batch/v1", kind: "Job", metadata: {name: $name, labels: $labels},
       spec: {backoffLimit: 0, activeDeadlineSeconds: 7200, ttlSecondsAfterFinished: 604800,
              template: {metadata: {labels: $labels}, spec: (.spec.template.spec
                | .restartPolicy = "Never" | del(.terminationGracePeriodSeconds)
                | .containers[0] |= (del(.ports, .startupProbe, .livenessProbe,
                                         .readinessProbe, .lifecycle, .args)
                  | .command = $command
                  | .env += [{name: "CD_COMMIT", value: $commit}]))}}}' \\
    | kubectl -n "$NAMESPACE" create -f -
  while :; do
    state=$(kubectl -n "$NAMESPACE" get "job/$name" -o jsonpath='{.status.succeeded}/{.status.failed}')
    case "$state" in 1/*) ok=0; break ;; */1) ok=1; break ;; esac
    sleep 10
  done
  kubectl -n "$NAMESPACE" logs "job/$name" --all-containers || true
  return "$ok"
}"""


def _uses(action: str, **with_: Any) -> Obj:
    commit, _ = ACTIONS[action]
    step: Obj = {"uses": f"{action}@{commit}"}
    if with_:
        step["with"] = with_
    return step


def _checkout() -> Obj:
    return _uses("actions/checkout", **{"persist-credentials": False})


def _setup(*, cache: bool) -> list[Obj]:
    """Checkout, Python and Shipyard. The pip cache only where nothing is published: a
    poisoned cache must not reach an image or a cluster."""
    python: Obj = {"python-version": _PYTHON}
    if cache:
        python |= {"cache": "pip", "cache-dependency-path": "deploy/requirements.lock"}
    return [_checkout(), _uses("actions/setup-python", **python),
            {"name": "Install the locked dependencies and Shipyard's wheel (by its SHA-256)",
             "run": _INSTALL}]


def _pipelines(config: ProjectConfig) -> list[str]:
    return sorted({model.pipeline for model in config.models.values()})


def _command(*words: str) -> str:
    return shlex.quote(json.dumps(list(words)))


def _promote_command(name: str, env: str) -> list[str]:
    """Promote the model's staging version (the one that just passed its gate), if any."""
    find = ("from shipyard.project import Project; from shipyard.registry import Registry; "
            f"print(Registry.of(Project.open('.', '{env}')).alias('{name}', 'staging') or '')")
    script = (f"version=$(python3 -c \"{find}\") && if [ -n \"$version\" ]; then "
              f"shipyard models promote {name} \"$version\" --env {env} "
              "--reason \"CD $CD_COMMIT\"; fi")
    return ["/bin/sh", "-c", script]


def _cluster_steps(config: ProjectConfig, env: str, *, promote: bool) -> list[str]:
    """The ``in_cluster`` calls that ingest, train (and promote) in ``env``'s stores."""
    lines = []
    if config.tables:
        lines.append(f"in_cluster ingest {_command('shipyard', 'ingest', '--env', env)}")
    for pipeline in _pipelines(config):
        # a model its gate rejects exits 4: the Job fails, and so does this step
        lines.append(f"in_cluster run-{pipeline.lower().replace('_', '-')} "
                     f"{_command('shipyard', 'run', pipeline, '--env', env)}")
    if promote:
        for name in config.models:
            lines.append(f"in_cluster promote-{name.lower().replace('_', '-')} "
                         f"{_command(*_promote_command(name, env))}")
    return lines


def _kube_credentials(env: str) -> Obj:
    return {"name": "Kubernetes credentials", "run": (
        'mkdir -p ~/.kube && printf "%s" "$KUBECONFIG_DATA" > ~/.kube/config && '
        "chmod 600 ~/.kube/config"),
        "env": {"KUBECONFIG_DATA": f"${{{{ secrets.KUBECONFIG_{env.upper()} }}}}"}}


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


def _deploy_job(config: ProjectConfig, names: Names, env: str, namespace: str,
                config_text: str, needs: str) -> Obj:
    cluster = {"APP": names.app, "NAMESPACE": namespace}
    train = _cluster_steps(config, env, promote=True)
    return {
        "needs": needs, "runs-on": "ubuntu-latest", "timeout-minutes": 180,
        "permissions": {"contents": "read"},
        "environment": {"name": env, "url": f"${{{{ vars.{env.upper()}_URL }}}}"},
        "steps": [
            *_setup(cache=False),
            _kube_credentials(env),
            _secret_step(names, env, namespace, config_text),
            {"name": f"Apply the {env} overlay with this commit's image, by digest",
             "run": "\n".join([
                 f"cd deploy/k8s/overlays/{env}",
                 f'kustomize edit set image "{names.image}=$IMAGE@$DIGEST"',
                 "cd -",
                 f"kubectl apply -k deploy/k8s/overlays/{env}",
                 f"kubectl -n {namespace} rollout status deployment/{names.app} --timeout=10m"]),
             "env": {"IMAGE": "${{ vars.IMAGE }}",
                     "DIGEST": "${{ needs.image.outputs.digest }}"}},
            *([{"name": f"Ingest, train and promote in {env}'s stores (Kubernetes Jobs)",
                "run": "\n".join([_IN_CLUSTER, *train]), "env": cluster}] if train else []),
            {"name": f"HTTP API tests against {env}",
             # the first of the keys, without its ":role" suffix (keys hold no ':')
             "run": ('FIRST="${SHIPYARD_API_KEYS%%,*}"; SHIPYARD_API_KEY="${FIRST%%:*}" '
                     'shipyard deploy smoke "$URL"'),
             "env": {API_KEYS: f"${{{{ secrets.{API_KEYS} }}}}",
                     "URL": f"${{{{ vars.{env.upper()}_URL }}}}"}},
        ]}


def _pin_comments(text: str) -> str:
    """Each pinned action's release, as a comment after its commit (Dependabot reads it)."""
    for action, (commit, release) in ACTIONS.items():
        text = text.replace(f"uses: {action}@{commit}\n", f"uses: {action}@{commit} # {release}\n")
    return text


def _dump(workflow: Obj) -> str:
    return _pin_comments(f"# {GENERATED}\n" + dump(workflow))


def _ci(config: ProjectConfig, dev: str) -> Obj:
    return {
        "name": "ci",
        "on": {"pull_request": None, "workflow_dispatch": None},
        "permissions": {},
        "concurrency": {"group": "ci-${{ github.ref }}", "cancel-in-progress": True},
        "jobs": {"test": {
            "runs-on": "ubuntu-latest", "timeout-minutes": 30,
            "permissions": {"contents": "read"},
            # no secrets here: a pull request's code runs in this job
            "steps": [*_setup(cache=True),
                      {"name": "Lint", "run": f"python -m pip install {' '.join(TOOLS)}\n{_RUFF}"},
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
                        for p in _pipelines(config))]}},
    }


def _cd(config: ProjectConfig, config_text: str, clusters: list[str],
        namespaces: dict[str, str]) -> Obj:
    names = Names.of(config)
    first = clusters[0] if clusters else None
    jobs: Obj = {"image": {
        "runs-on": "ubuntu-latest", "timeout-minutes": 30,
        "permissions": {"contents": "read", "packages": "write"},
        **({"environment": {"name": first}} if first else {}),
        "outputs": {"digest": "${{ steps.push.outputs.digest }}"},
        "steps": [_checkout(),
                  {"name": "Build and push the image", "id": "push", "run": _BUILD_AND_PUSH,
                   "env": {"IMAGE": "${{ vars.IMAGE }}",
                           "REGISTRY_USER": "${{ secrets.REGISTRY_USER }}",
                           "REGISTRY_PASSWORD": "${{ secrets.REGISTRY_PASSWORD }}"}}]}}
    if first is not None:
        jobs[f"deploy-{first}"] = _deploy_job(config, names, first, namespaces[first],
                                              config_text, "image")
    last = "prod" if "prod" in clusters else (clusters[-1] if clusters else None)
    if last is not None and last != first:
        # after the first environment; its GitHub environment's reviewers approve it
        jobs[f"deploy-{last}"] = _deploy_job(config, names, last, namespaces[last],
                                             config_text, f"deploy-{first}")
        jobs[f"deploy-{last}"]["needs"] = ["image", f"deploy-{first}"]
    return {"name": "cd", "on": {"push": {"branches": ["main"]}, "workflow_dispatch": None},
            "permissions": {},
            "concurrency": {"group": "cd", "cancel-in-progress": False},
            "jobs": jobs}


def _retrain(config: ProjectConfig, names: Names, env: str | None, namespace: str) -> Obj:
    """Train now, in the cluster, as the CronJobs do on their schedule: a new version passes its
    gate to ``staging``; promotion stays a person's decision (or the next CD)."""
    if env is None:
        steps: list[Obj] = [{"name": "Nothing to retrain", "run": (
            "echo 'no environment runs in a cluster: training runs where shipyard run is "
            "started'")}]
    else:
        steps = [_checkout(), _kube_credentials(env),
                 {"name": f"Train in {env}'s stores (Kubernetes Jobs)",
                  "run": "\n".join([_IN_CLUSTER, *_cluster_steps(config, env, promote=False)]),
                  "env": {"APP": names.app, "NAMESPACE": namespace}}]
    return {
        "name": "retrain",
        "on": {"workflow_dispatch": None},
        "permissions": {},
        "concurrency": {"group": "retrain", "cancel-in-progress": False},
        "jobs": {"retrain": {
            "runs-on": "ubuntu-latest", "timeout-minutes": 180,
            "permissions": {"contents": "read"},
            **({"environment": {"name": env}} if env else {}),
            "steps": steps}},
    }


def workflows(config: ProjectConfig, envs: list[str], config_text: str = "",
              targets: list[str] | None = None) -> dict[str, str]:
    """``.github/workflows/{ci,cd,retrain}.yml`` of the project, by path: CI in the first of
    ``envs``, deployment (and training) in the Kubernetes ``targets`` (default: ``envs``)."""
    names = Names.of(config)
    clusters = envs if targets is None else targets
    namespaces = {env: ((config.deploy.environments.get(env) and
                         config.deploy.environments[env].namespace) or names.namespace(env))
                  for env in clusters}
    last = "prod" if "prod" in clusters else (clusters[-1] if clusters else None)
    return {
        f"{WORKFLOW_DIR}/ci.yml": _dump(_ci(config, envs[0])),
        f"{WORKFLOW_DIR}/cd.yml": _dump(_cd(config, config_text, clusters, namespaces)),
        f"{WORKFLOW_DIR}/retrain.yml": _dump(_retrain(config, names, last,
                                                      namespaces.get(last or "", ""))),
    }
