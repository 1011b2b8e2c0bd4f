"""``monitoring.rules``: measure each rule, keep its state, alert once per change of state.

Each kind of rule has one measuring function returning the value (or why there is none); a rule
fires when its value exceeds the threshold (drift: when the drifting share of input columns
reaches it, or the prediction drifts). A rule that cannot be measured (no log yet, nothing
logged in the window) is ``unknown`` with the reason, which alerts nobody
(:mod:`shipyard.monitoring.states`).

When a drift rule fires and ``monitoring.on_drift.run`` names a pipeline, that pipeline runs
with the project's hooks, so its gate, comparison and promotion policy apply as usual: once per
drift episode, also when ``monitor drift`` alerted the episode first. It runs from
``monitor check`` and the scheduler only, never from a request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pyarrow as pa

from shipyard.config.schema import RuleConfig
from shipyard.errors import ModelRejected, NotFoundError, ShipyardError, StepFailed
from shipyard.monitoring.states import MonitorStates, State, alert, drift_key
from shipyard.monitoring.window import Window, parse_duration
from shipyard.project import Project

if TYPE_CHECKING:
    from shipyard.monitoring.findings import DriftReport
    from shipyard.registry.flow import Registered

__all__ = [
    "CheckOutcome",
    "Retrain",
    "RuleResult",
    "check_rules",
    "evaluate",
    "record_drift",
]

log = logging.getLogger("shipyard.monitoring")

def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


@dataclass(frozen=True)
class Measured:
    """A rule's value (None: it could not be measured, and ``why`` says why)."""

    value: float | None
    shown: str = ""
    why: str = ""
    facts: dict[str, str] = field(default_factory=dict)
    firing: bool | None = None
    """Set by kinds whose verdict is more than ``value > threshold`` (drift)."""


@dataclass(frozen=True)
class RuleResult:
    """One row of ``monitor check``: the rule, what was measured, and its state."""

    rule: str
    kind: str
    target: str | None
    value: float | None
    shown: str
    threshold: str
    state: State
    why: str
    facts: dict[str, str]


@dataclass(frozen=True)
class Retrain:
    """A run started by ``monitoring.on_drift``, and how it ended."""

    pipeline: str
    status: str
    run_id: str | None
    message: str | None
    registered: list[Registered] = field(default_factory=list)
    """The versions the run registered (gate passed, compared with production), to show."""


@dataclass
class CheckOutcome:
    results: list[RuleResult]
    changed: list[str] = field(default_factory=list)
    """Keys of the rules whose state changed (between ok and firing): each was alerted."""
    delivered: int = 0
    """Alerts a webhook took (none when no webhook wants the events, or all failed)."""
    retrains: list[Retrain] = field(default_factory=list)

    @property
    def firing(self) -> list[RuleResult]:
        return [r for r in self.results if r.state == "firing"]


def _window(project: Project, rule: RuleConfig, now: datetime) -> Window:
    return Window.of(parse_duration(rule.window or project.config.monitoring.window), now=now)


def served_requests(project: Project, model: str, window: Window) -> pa.Table:
    """``time``, ``latency_ms`` and (when logged) ``status`` of each request of ``model``
    logged in ``window``, answered or not, one row per request (its first row): predict
    requests from the model's prediction log, and for a recommender the recommendation
    requests every server of the environment logged. The only place rules read the request
    logs, so a change of their columns is adapted here. Three narrow columns of one window
    (about 24 bytes a request) fit in memory where the inputs of the same rows might not."""
    import pyarrow.dataset as ds

    from shipyard.monitoring.logged import LoggedPredictions

    parts: list[pa.Table] = []
    missing: NotFoundError | None = None
    predictions = LoggedPredictions(project.lake_root, project.storage_options, model)
    try:
        dataset = predictions.dataset(window)
    except NotFoundError as error:
        missing = error
    else:
        names = dataset.schema.names
        columns = [c for c in ("time", "latency_ms", "status") if c in names]
        found = predictions.window_filter(window)
        if "row" in names:  # a request of many rows is one request
            found = found & (ds.field("row") == 0)
        parts.append(dataset.to_table(columns=columns, filter=found))
    recommended = _recommendation_requests(project, model, window)
    if recommended is not None:
        parts.append(recommended)
    if missing is not None and not parts:
        raise missing
    return pa.concat_tables(parts, promote_options="default")


def _recommendation_requests(project: Project, model: str, window: Window) -> pa.Table | None:
    """``time`` and ``latency_ms`` of the recommendation requests ``model`` answered in
    ``window`` (None when no server has logged one)."""
    import pyarrow.dataset as ds
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    from shipyard.monitoring.logged import in_window
    from shipyard.monitoring.logschema import recommendations_path

    try:
        table = DeltaTable(recommendations_path(project.lake_root),
                           storage_options=project.storage_options)
    except TableNotFoundError:
        return None
    found = in_window(window) & (ds.field("model") == model)
    return table.to_pyarrow_dataset().to_table(columns=["time", "latency_ms"], filter=found)


Outcome = Literal["answered", "rejected", "failed"]
_OK_WORDS = pa.array(["ok", "200", "success", "succeeded"])
_REFUSED_WORDS = pa.array(["rejected", "refused", "invalid"])


def _outcome(status: pa.ChunkedArray, outcome: Outcome) -> pa.ChunkedArray:
    """Which logged statuses are ``outcome``: HTTP codes (4xx rejected, 5xx failed; null is a
    row from before statuses were logged: answered), or words (ok; rejected, refused,
    invalid; any other word failed), for a log another tool wrote."""
    import pyarrow.compute as pc

    if pa.types.is_integer(status.type) or pa.types.is_floating(status.type):
        code = pc.fill_null(status, 200)
        return {"answered": pc.less(code, 400),
                "rejected": pc.and_(pc.greater_equal(code, 400), pc.less(code, 500)),
                "failed": pc.greater_equal(code, 500)}[outcome]
    word = pc.fill_null(pc.utf8_lower(status.cast(pa.string())), "ok")
    ok, refused = pc.is_in(word, value_set=_OK_WORDS), pc.is_in(word, value_set=_REFUSED_WORDS)
    return {"answered": ok, "rejected": refused,
            "failed": pc.invert(pc.or_(ok, refused))}[outcome]


def _count(mask: pa.ChunkedArray) -> int:
    import pyarrow.compute as pc

    return int(pc.sum(mask.cast(pa.int64())).as_py() or 0)


def _p99_latency(project: Project, rule: RuleConfig, now: datetime) -> Measured:
    import pyarrow.compute as pc

    window = _window(project, rule, now)
    logged = served_requests(project, str(rule.target), window)
    if "status" in logged.column_names:
        logged = logged.filter(_outcome(logged.column("status"), "answered"))
    latencies = logged.column("latency_ms").drop_null()
    if len(latencies) == 0:
        return Measured(None, why=f"no predictions of {rule.target} logged in {window}")
    p99 = float(pc.quantile(latencies, q=0.99)[0].as_py())
    return Measured(p99, f"{p99:.1f} ms", f"{len(latencies)} answered requests")


def _share_of(outcome: Outcome) -> Callable[[Project, RuleConfig, datetime], Measured]:
    """The measure of ``error_rate`` (failed) or ``rejection_rate`` (rejected): the share of
    the window's logged requests that ended so."""

    def measure(project: Project, rule: RuleConfig, now: datetime) -> Measured:
        window = _window(project, rule, now)
        logged = served_requests(project, str(rule.target), window)
        if "status" not in logged.column_names:
            return Measured(None, why=(
                "the prediction log has no status column: it was written by a server from "
                "before refusals and failures were logged; serve with this version of "
                "Shipyard"))
        if logged.num_rows == 0:
            return Measured(None, why=f"no requests of {rule.target} logged in {window}")
        ended = _count(_outcome(logged.column("status"), outcome))
        rate = ended / logged.num_rows
        return Measured(rate, f"{rate:.2%}", f"{ended} of {logged.num_rows} requests {outcome}")

    return measure


def _lake_age(project: Project, rule: RuleConfig, now: datetime) -> Measured:
    from shipyard.lake.snapshots import Snapshots
    from shipyard.lake.tables import DeltaStore

    latest = Snapshots(DeltaStore.of(project)).latest()
    if latest is None or latest.created_at is None:
        return Measured(None, why=f"the lake has no snapshot yet: "
                                  f"'{project.command('ingest')}' writes one")
    age = (now - latest.created_at).total_seconds()
    return Measured(age, _span(age), f"snapshot {latest.id} at {latest.created_at:%Y-%m-%d %H:%M} UTC")


def _run_age(project: Project, rule: RuleConfig, now: datetime) -> Measured:
    from shipyard.tracking.records import RunStore

    runs = RunStore(project.metadata_engine, env=project.env_name).recent(
        limit=1000, pipeline=rule.target)
    done = next((r for r in runs if r.status == "succeeded"), None)
    if done is None:
        return Measured(None, why=f"no successful run of {rule.target} yet")
    age = (now - (done.finished_at or done.started_at)).total_seconds()
    return Measured(age, _span(age), f"run {done.id}")


def _failed_runs(project: Project, rule: RuleConfig, now: datetime) -> Measured:
    from shipyard.tracking.records import RunStore

    window = _window(project, rule, now)
    runs = RunStore(project.metadata_engine, env=project.env_name).recent(
        limit=10_000, pipeline=rule.target)
    failed = [r for r in runs if r.status == "failed" and window.start <= r.started_at < window.end]
    return Measured(len(failed), str(len(failed)), f"in {window}" if not failed
                    else f"last: {failed[0].id}")


def _quarantine_waiting(project: Project, rule: RuleConfig, now: datetime) -> Measured:
    from shipyard.lake.quarantine import quarantined

    waiting = [b for b in quarantined(project)
               if rule.target is None or b.table_name == rule.target]
    return Measured(len(waiting), str(len(waiting)),
                    ", ".join(f"batch {b.id} ({b.table_name})" for b in waiting[:5]))


def _drift(project: Project, rule: RuleConfig, now: datetime) -> Measured:
    from shipyard.monitoring.drift import check_drift
    from shipyard.monitoring.report import write_report

    model = str(rule.target)
    report = check_drift(project, model, parse_duration(
        rule.window or project.config.monitoring.window), now=now)
    shares = [s for kind in ("skew", "drift") if (s := report.share(kind)) is not None]
    share = max(shares, default=0.0)
    prediction = any(r.test.drifted for r in report.results if r.is_prediction)
    _, page = write_report(project, report)
    found = ", ".join(report.drifted_columns) or "nothing"
    return Measured(share, f"{share:.0%}", f"v{report.version}, drifted: {found}",
                    {"model": model, "version": str(report.version), "report": str(page)},
                    firing=prediction or share >= float(rule.threshold))


def _losing_to_baseline(project: Project, rule: RuleConfig, now: datetime) -> Measured:
    """How many of the newest scored sets in a row lost to popularity on realised MAP@K."""
    from shipyard.monitoring.outcomes import check_outcomes, losing_streak

    model = str(rule.target)
    scored = [o for o in check_outcomes(project, model).outcomes
              if o.model is not None and o.baseline is not None]
    if not scored:
        return Measured(None, why=f"no published set of {model} has outcomes yet: ingest the "
                                  f"orders that follow it")
    streak = losing_streak(scored)
    last = scored[-1]
    assert last.model is not None and last.baseline is not None
    return Measured(streak, f"{streak} of {len(scored)}",
                    f"newest set {last.set_id} (v{last.version}): MAP@{last.k} "
                    f"{last.model.map_at_k:.3f} vs popularity {last.baseline.map_at_k:.3f}",
                    {"model": model, "version": str(last.version),
                     "map_at_k": f"{last.model.map_at_k:.4f}",
                     "popularity_map_at_k": f"{last.baseline.map_at_k:.4f}"},
                    firing=streak >= float(rule.threshold))


MEASURES: dict[str, Callable[[Project, RuleConfig, datetime], Measured]] = {
    "p99_latency_ms": _p99_latency, "error_rate": _share_of("failed"),
    "rejection_rate": _share_of("rejected"), "lake_age": _lake_age,
    "run_age": _run_age, "failed_runs": _failed_runs, "quarantine_waiting": _quarantine_waiting,
    "drift": _drift, "losing_to_baseline": _losing_to_baseline,
}
"""The measuring function of each kind in :data:`shipyard.config.schema.RULE_KINDS`."""


def _limit(rule: RuleConfig) -> float:
    if isinstance(rule.threshold, str):
        return parse_duration(rule.threshold, zero=True).total_seconds()
    return float(rule.threshold)


def _shown(threshold: float | str) -> str:
    return threshold if isinstance(threshold, str) else f"{threshold:g}"


def evaluate(project: Project, rule: RuleConfig, now: datetime | None = None) -> RuleResult:
    """Measure one rule; a Shipyard error while measuring makes it ``unknown``, with why."""
    now = now or datetime.now(UTC)
    try:
        measured = MEASURES[rule.kind](project, rule, now)
    except ShipyardError as error:
        measured = Measured(None, why=str(error).splitlines()[0])
    if measured.value is None:
        state: State = "unknown"
    elif measured.firing is not None:
        state = "firing" if measured.firing else "ok"
    else:
        state = "firing" if measured.value > _limit(rule) else "ok"
    return RuleResult(rule.key, rule.kind, rule.target, measured.value, measured.shown or "–",
                      _shown(rule.threshold), state, measured.why, measured.facts)


def check_rules(project: Project, now: datetime | None = None) -> CheckOutcome:
    """Evaluate every rule, record its state, alert each change once, and retrain on drift
    when ``monitoring.on_drift`` says so."""
    now = now or datetime.now(UTC)
    states = MonitorStates.of(project)
    outcome = CheckOutcome([evaluate(project, rule, now) for rule in project.config.monitoring.rules])
    transitions = []
    for result in outcome.results:
        transition = states.record(result.rule, "drift" if result.kind == "drift" else "rule",
                                   result.state,
                                   value=result.value, subject=result.target, detail=result.why,
                                   now=now)
        transitions.append((result, transition))
        if not transition.alert:
            continue
        outcome.changed.append(result.rule)
        verb = "is firing" if result.state == "firing" else "is back to ok"
        outcome.delivered += alert(project, transition, title=f"{result.rule} {verb}: {result.shown} "
                                         f"(threshold {result.threshold})",
              summary=result.why, facts={"value": result.shown, "threshold": result.threshold,
                                         **result.facts})
    on_drift = project.config.monitoring.on_drift
    for result, transition in transitions:
        if (on_drift is not None and result.kind == "drift" and result.state == "firing"
                and (transition.alert or not _ran_since(project, on_drift.run, transition.since))):
            outcome.retrains.append(retrain(project, on_drift.run, no_cache=on_drift.no_cache))
    return outcome


def _ran_since(project: Project, pipeline: str, since: datetime) -> bool:
    """Whether ``pipeline`` started a run at or after ``since`` (the drift episode's start).

    An episode is alerted by whoever finds it first: a drift rule, or ``monitor drift`` run
    by hand, which never retrains. So a rule that finds its episode already open retrains
    unless the pipeline ran since the episode began (retrained already, by on_drift, the
    scheduler's new-data trigger or a person), and a drift that lasts retrains once.
    """
    from shipyard.tracking.records import RunStore

    runs = RunStore(project.metadata_engine, env=project.env_name).recent(limit=1,
                                                                         pipeline=pipeline)
    return bool(runs) and runs[0].started_at >= since


def retrain(project: Project, pipeline: str, *, no_cache: bool = False) -> Retrain:
    """Run ``pipeline`` as ``shipyard run`` would (gate, comparison, promotion policy)."""
    from shipyard.runs import run_pipeline

    log.info("drift detected: running %s (monitoring.on_drift)", pipeline)
    try:
        result = run_pipeline(project, pipeline, no_cache=no_cache)
        return Retrain(pipeline, "succeeded", result.run_id, None, list(result.registered))
    except ShipyardError as error:
        status = "rejected" if isinstance(error, ModelRejected) else "failed"
        run_id = error.run_id if isinstance(error, StepFailed) else None
        return Retrain(pipeline, status, run_id, str(error).splitlines()[0])


def record_drift(project: Project, report: DriftReport, page: Path | str) -> bool:
    """Record what ``monitor drift`` found and alert once per episode (its start and its end,
    with the report's path); True when this call alerted."""
    shares = [s for kind in ("skew", "drift") if (s := report.share(kind)) is not None]
    transition = MonitorStates.of(project).record(
        drift_key(report.model), "drift", "firing" if report.drifted else "ok",
        value=max(shares, default=0.0), subject=report.model, detail=str(page))
    if transition.alert:
        verb = "drift detected in" if report.drifted else "drift is over in"
        found = ", ".join(report.drifted_columns) or "nothing drifts"
        alert(project, transition, title=f"{verb} model {report.model} v{report.version}",
              summary=f"{found}\nreport: {page}",
              facts={"model": report.model, "version": str(report.version), "report": str(page)})
    return transition.alert
