"""What happens to a trained model after a successful run: log, register, gate, stage, compare.

1. Logged with ``mlflow.sklearn`` under the pipeline's MLflow run (skops format, Shipyard's
   trusted types, signature, input example, the test rows, the reference profile monitoring
   compares serving inputs with) and registered as a new version
   with lineage tags: pipeline run, git commit, lake table versions.
2. Gated: a threshold it fails tags it ``rejected`` and raises :class:`ModelRejected` (exit 4).
3. Staged: alias ``staging`` moves to it; the version it leaves is archived.
4. Compared with ``production`` on its test rows that production was not fitted on
   (:mod:`shipyard.registry.evaluation`); the report is saved in the environment's state
   (``reports/models/<name>/``), where every machine of the team reads it, and the rows'
   identity is audited. Too few such rows: no comparison, and the reason is noted.
5. With ``promote: auto``, promoted when the primary metric's 95% interval lies above zero (or
   when nothing is in production yet).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException

from shipyard.errors import (
    ComparisonRefused,
    ModelRejected,
    PipelineDefinitionError,
    PipelineError,
)
from shipyard.faults import crash_point
from shipyard.names import FINGERPRINT, FLAVOR, RUN_ID, STAGING, STATUS, TASK
from shipyard.pipeline.results import RunResult
from shipyard.project import Project
from shipyard.registry.audit import AuditTrail
from shipyard.registry.client import (
    EVALUATION,
    GATE,
    GATE_CHECKS,
    REGISTRATION,
    Registry,
    filter_literal,
    gate_passed,
    registration_state,
)
from shipyard.registry.compare import Comparison, compare_means, compare_scores
from shipyard.registry.evaluation import evaluation_rows
from shipyard.registry.gates import GateCheck, check_gate
from shipyard.registry.promote import PRODUCTION, Transition, promote
from shipyard.registry.transitions import announce, model_lock
from shipyard.train.compiled import CHECK_FILE, ONNX_FILE, SERVED_BY, CompileCheck, compile_model
from shipyard.train.metrics import METRICS
from shipyard.train.outputs import outputs, task_of
from shipyard.train.profile import PROFILE_FILE
from shipyard.train.rows import ROWS_FILE
from shipyard.train.signature import declared_not_null
from shipyard.train.trained import TrainedModel

__all__ = ["Registered", "compare_versions", "comparison_key", "is_registered", "register_trained",
           "save_comparison"]

AUTO = "shipyard (promote: auto)"


@dataclass
class Registered:
    """The outcome of registering one model, for the command to print."""

    name: str
    version: int
    gate: list[GateCheck]
    comparison: Comparison | None = None
    report: str | None = None
    """Where the comparison report is (:meth:`StateStore.where`)."""
    promotion: Transition | None = None
    notes: list[str] = field(default_factory=list)
    refused: str | None = None
    """Why it could not be compared with production fairly (too few unseen rows), if so."""


FINISHED = ("compared", "rejected")
"""Values of the tag ``shipyard.registration`` after which nothing is left to do."""


def is_registered(project: Project, name: str, fingerprint: str) -> bool:
    """Whether a version of ``name`` registered from the step result ``fingerprint`` finished
    its registration (a version a killed process left halfway does not count)."""
    newest = _newest(Registry.of(project), name, fingerprint)
    return newest is not None and registration_state(newest.tags) in FINISHED


def _newest(registry: Registry, name: str, fingerprint: str) -> Any:
    """The newest version registered from the step result ``fingerprint``, or None."""
    found = registry.client.search_model_versions(
        f"name = {filter_literal(name)} and tags.`shipyard.fingerprint` = "
        f"{filter_literal(fingerprint)}")
    return max(found, key=lambda v: int(v.version), default=None)


def comparison_key(name: str, challenger: int, champion: int) -> str:
    """The state key of the report comparing ``challenger`` with ``champion``."""
    return f"reports/models/{name}/{Comparison.file_name(challenger, champion)}"


def save_comparison(project: Project, comparison: Comparison) -> str:
    """Keep ``comparison`` in the environment's state; returns where it is."""
    key = comparison_key(comparison.model, comparison.challenger, comparison.champion)
    return project.state.put(key, comparison.to_json().encode())


def _requirements(flavor: str) -> list[str]:
    from importlib.metadata import version

    packages = (("scikit-learn", "skops") if flavor == "sklearn" else ("shipyard",)) + (
        "pandas", "numpy", "scipy")
    return [f"{p}=={version(p)}" for p in packages]


def _log_model(model: TrainedModel, files: list[Path], lineage: dict[str, str],
               not_null: frozenset[str]) -> Any:
    """Log with the flavour that fits: ``mlflow.sklearn`` (skops) or a pyfunc from code."""
    import mlflow

    params = {k: str(v) for k, v in model.params.items()}
    if model.flavor == "recommender":
        import mlflow.pyfunc

        from shipyard.recsys import pyfunc_model

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "recommender"
            model.model.save(folder)
            return mlflow.pyfunc.log_model(
                name=model.name, python_model=pyfunc_model.__file__,
                artifacts={"recommender": str(folder), **{f.stem: str(f) for f in files}},
                input_example=model.input_example, pip_requirements=_requirements(model.flavor),
                params=params, tags=lineage)
    import mlflow.sklearn

    from shipyard.train.persist import trusted_types
    from shipyard.train.signature import input_signature

    signature = input_signature(model.test_X, model.model.predict(model.input_example),
                                not_null)
    return mlflow.sklearn.log_model(
        model.model, name=model.name, signature=signature, input_example=model.input_example,
        skops_trusted_types=trusted_types(model.model, where=f"model {model.name!r}"),
        pip_requirements=_requirements(model.flavor), extra_files=[str(f) for f in files],
        params=params, tags=lineage)


def _log_and_register(project: Project, model: TrainedModel, info: RunResult) -> int:
    import mlflow

    from shipyard.tracking.runs import lineage_tags
    from shipyard.tracking.setup import use_project

    use_project(project)
    lineage = {**lineage_tags(run_id=info.run_id, pipeline=info.pipeline,
                              git_commit=info.git_commit, git_dirty=info.git_dirty,
                              data_versions=info.data_versions),
               **model.tags}
    with tempfile.TemporaryDirectory() as tmp:
        files = [Path(tmp) / EVALUATION[0]]
        model.test_X.to_parquet(files[0])
        if model.test_y is not None:
            files.append(Path(tmp) / EVALUATION[1])
            model.test_y.rename("label").to_frame().to_parquet(files[1])
        if model.profile is not None:  # monitoring's reference: see shipyard.train.profile
            files.append(Path(tmp) / PROFILE_FILE)
            files[-1].write_text(model.profile.to_json())
        if model.rows is not None:  # which rows it saw: see shipyard.train.rows
            files.append(Path(tmp) / ROWS_FILE)
            model.rows.to_frame().to_parquet(files[-1])
        served_by: dict[str, str] = {}
        if model.flavor == "sklearn":  # the compiled path: see shipyard.train.compiled
            check = _compiled(model, Path(tmp), files)
            served_by = {SERVED_BY: check.describe()}
        with mlflow.start_run(run_id=info.tracking_run_id):
            logged = _log_model(model, files, {**lineage, FLAVOR: model.flavor},
                                declared_not_null(project.config))
            mlflow.log_metrics({f"{model.name}.test_{k}": v for k, v in model.metrics.items()})
    tags = {**lineage, **served_by, FLAVOR: model.flavor,
            TASK: model.task,
            **{f"metric.{k}": f"{v:.3f}" for k, v in model.metrics.items()},
            STATUS: "registered", REGISTRATION: "registered"}
    client = Registry.of(project).client
    try:
        client.create_registered_model(model.name)
    except MlflowException as error:  # registered by an earlier run (or a racing one)
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = client.create_model_version(model.name, logged.model_uri, run_id=logged.run_id
                                          or info.tracking_run_id, tags=tags,
                                          model_id=logged.model_id)
    return int(version.version)


def _compiled(model: TrainedModel, folder: Path, files: list[Path]) -> CompileCheck:
    """Compile the version (:mod:`shipyard.train.compiled`): its ONNX graph, when it converts
    and passes its check on the test rows, and the check's record, written under ``folder``
    and added to ``files``."""
    graph, check = compile_model(model.model, model.test_X)
    if graph is not None:
        files.append(folder / ONNX_FILE)
        files[-1].write_bytes(graph)
    files.append(folder / CHECK_FILE)
    files[-1].write_text(check.to_json())
    return check


def compare_versions(project: Project, name: str, challenger: int, champion: int) -> Comparison:
    """Score both versions on the challenger's test rows that the champion was not fitted on
    (:mod:`shipyard.registry.evaluation`), compare them, save the report and audit it.

    Raises:
        ComparisonRefused: too few such rows for the interval to mean anything.
    """
    config = project.config.models.get(name)
    registry = Registry.of(project)
    new, old = registry.fetch(name, challenger), registry.fetch(name, champion)
    X, y, evaluation = evaluation_rows(project, new, old)
    if y is None:
        comparison = _compare_recommenders(name, challenger, champion, new.model, old.model, X,
                                           config.primary_metric if config else "map_at_10",
                                           evaluation.to_dict())
    else:
        task = task_of(new.model)
        if task_of(old.model) != task:
            raise PipelineError(f"model {name!r} version {challenger} is a {task} model and "
                                f"version {champion} is not: there is no metric to compare "
                                f"them on; promote v{challenger} by hand if it is to replace it")
        try:
            old_scores = outputs(old.model, X, task)
        except (KeyError, ValueError, AttributeError) as error:
            raise PipelineError(f"model {name!r} version {champion} cannot score version "
                                f"{challenger}'s test rows (the features changed?): "
                                f"{error}") from None
        primary = config.primary_metric if config else next(iter(METRICS[task]))
        comparison = compare_scores(name, challenger, champion, y.to_numpy(),
                                    outputs(new.model, X, task), old_scores,
                                    primary_metric=primary, evaluation=evaluation.to_dict(),
                                    task=task)
    save_comparison(project, comparison)
    p = comparison.primary
    announce(project, name, challenger, "compared",
             reason=f"against v{champion} on {evaluation.describe()}: {p.metric} "
                    f"{p.improvement:+.4f} (95% CI {p.ci_low:+.4f} to {p.ci_high:+.4f})",
             details={"champion": champion, "evaluation": evaluation.to_dict(),
                      "primary": {"metric": p.metric, "challenger": p.challenger,
                                  "champion": p.champion, "ci": [p.ci_low, p.ci_high]}})
    return comparison


def _compare_recommenders(name: str, challenger: int, champion: int, new: Any, old: Any,
                          test: Any, primary: str, evaluation: dict[str, Any]) -> Comparison:
    """Per-user metrics of both on the held-out rows neither was fitted on, paired on the
    users both could be scored for."""
    from shipyard.recsys.fit import evaluate

    user, item = test.columns[:2]
    k = int(new.params.get("k", 10))
    ours, theirs = (evaluate(m, test, user, item, k) for m in (new, old))
    ours, theirs = ours.align(theirs, join="inner", axis=0)
    named = {f"{c.replace('_k', f'_{k}')}": c for c in ours.columns}
    return compare_means(name, challenger, champion,
                         {n: ours[c].to_numpy() for n, c in named.items()},
                         {n: theirs[c].to_numpy() for n, c in named.items()},
                         primary_metric=primary, evaluation=evaluation)


def register_trained(project: Project, model: TrainedModel, info: RunResult) -> Registered:
    """Register ``model`` and take it through gate, staging, comparison and policy.

    Registration is a state machine recorded on the version itself (tag
    ``shipyard.registration``: registered → gated → staged → compared, or gated → rejected),
    and every step is idempotent, so a process killed anywhere in it leaves a version that the
    next run with the same step result (a rerun, or ``--resume``) picks up where it stopped:
    the newest version carrying the model's fingerprint is continued rather than registered
    again.

    Raises:
        PipelineError: the model's name is not declared under ``models:``.
        ModelRejected: it failed its gate; the version stays registered, tagged rejected.
    """
    config = project.config.models.get(model.name)
    if config is None:
        raise PipelineDefinitionError(
            f"pipeline {info.pipeline!r} returned a model named {model.name!r}, which is not "
            f"declared in shipyard.yaml; add models: {{{model.name}: {{pipeline: "
            f"{info.pipeline}, primary_metric: roc_auc}}}}")
    name = model.name
    registry = Registry.of(project)
    pending = _unfinished(registry, name, model.tags.get(FINGERPRINT))
    if pending is None:
        version = _log_and_register(project, model, info)
        crash_point("register:version-created")
        resumed_from = None
    else:
        version, resumed_from = pending
    trail = AuditTrail.of(project)
    trained_by = resumed_from or info.run_id
    if not trail.has(name, version, "registered"):
        announce(project, name, version, "registered", reason=f"trained by run {trained_by}",
                 details={"metrics": model.metrics, "run_id": trained_by})
    checks = check_gate(config.gate, model.metrics)
    outcome = Registered(name, version, checks)
    if resumed_from is not None:
        outcome.notes.append(f"completed the registration of version {version}, interrupted "
                             f"in run {resumed_from}")
    state = registration_state(registry.get(name, version).tags)
    if state == "registered":
        _record_gate(registry, name, version, checks)
        crash_point("register:gated")
        state = "gated"
    if not gate_passed(registry.get(name, version).tags):
        _reject(project, registry, trail, outcome)
    if state == "gated":
        _stage(project, registry, outcome)
        crash_point("register:before-audit")
    if not trail.has(name, version, "staged"):
        announce(project, name, version, "staged", reason="passed its gate: "
                 + ("; ".join(map(str, checks)) or "no thresholds declared"),
                 event="model_staged", title=f"{name} version {version} staged")
    champion = registry.alias(name, PRODUCTION)
    if champion is not None and champion != version:
        try:
            outcome.comparison = compare_versions(project, name, version, champion)
            outcome.report = project.state.where(comparison_key(name, version, champion))
        except ComparisonRefused as refused:
            outcome.refused = str(refused)
            announce(project, name, version, "comparison_refused", reason=str(refused),
                     details={"champion": champion})
    registry.tag(name, version, REGISTRATION, "compared")
    if config.promote == "auto" and champion != version:
        _auto_promote(project, outcome)
    return outcome


def _unfinished(registry: Registry, name: str, fingerprint: str | None) -> tuple[int, str] | None:
    """(version, run that began it) of the newest version of this step result whose
    registration a killed process left unfinished; None when there is none."""
    newest = None if fingerprint is None else _newest(registry, name, fingerprint)
    if newest is None or registration_state(newest.tags) in FINISHED:
        return None
    return int(newest.version), newest.tags.get(RUN_ID, "unknown")


def _record_gate(registry: Registry, name: str, version: int, checks: list[GateCheck]) -> None:
    """Tag the gate's outcome: promotion reads it, whatever happens to the process next."""
    passed = all(c.passed for c in checks)
    registry.tag(name, version, GATE_CHECKS,
                 "; ".join(map(str, checks)) or "no thresholds declared")
    registry.tag(name, version, GATE, "passed" if passed else "failed")
    if not passed:
        registry.set_status(name, version, "rejected")
    registry.tag(name, version, REGISTRATION, "gated")


def _reject(project: Project, registry: Registry, trail: AuditTrail,
            outcome: Registered) -> None:
    """Audit and announce a failed gate (once), finish the registration, raise exit 4."""
    name, version = outcome.name, outcome.version
    failed = [c for c in outcome.gate if not c.passed]
    reason = "failed its gate: " + "; ".join(map(str, failed))
    if not trail.has(name, version, "rejected"):
        announce(project, name, version, "rejected", reason=reason, event="model_rejected",
                 title=f"{name} version {version} rejected by its gate",
                 details={"gate": [str(c) for c in outcome.gate]})
    registry.tag(name, version, REGISTRATION, "rejected")
    error = ModelRejected(f"model {name!r} version {version} {reason}. It is registered "
                          f"and tagged rejected; it was not staged.", outcome=outcome)
    raise error


def _stage(project: Project, registry: Registry, outcome: Registered) -> None:
    """Move ``staging`` to the version and archive the one it leaves (not production)."""
    name, version = outcome.name, outcome.version
    with model_lock(project, name):
        production = registry.alias(name, PRODUCTION)
        if production != version:  # forced into production before its gate ran: stays there
            previous = registry.alias(name, STAGING)
            if previous not in (None, version, production):
                registry.set_status(name, previous, "archived")
                announce(project, name, previous, "archived",
                         reason=f"staging moved to v{version}")
            registry.set_alias(name, STAGING, version)
            crash_point("register:staged")
            registry.set_status(name, version, "staging")
        registry.tag(name, version, REGISTRATION, "staged")


def _auto_promote(project: Project, outcome: Registered) -> None:
    comparison = outcome.comparison
    if outcome.refused is not None:
        outcome.notes.append("not promoted (promote: auto): no fair comparison with production")
        return
    if comparison is None:
        reason = "promote: auto; no production version yet"
    elif comparison.challenger_wins:
        p = comparison.primary
        reason = (f"promote: auto; {p.metric} better by {p.improvement:+.4f} "
                  f"(95% CI {p.ci_low:+.4f} to {p.ci_high:+.4f})")
    else:
        p = comparison.primary
        outcome.notes.append(
            f"not promoted (promote: auto): {p.metric} difference {p.improvement:+.4f}, 95% CI "
            f"{p.ci_low:+.4f} to {p.ci_high:+.4f} does not lie above zero")
        return
    outcome.promotion = promote(project, outcome.name, outcome.version, reason=reason,
                                actor=AUTO)
