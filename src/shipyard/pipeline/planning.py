"""Plan a run before anything executes: each step's cache key, and whether it is reused.

Every step's key comes from its code, parameters, the keys of its upstream steps, the lake
versions it reads and the libraries it runs on, so which steps are reused, which re-run and
*why* is decided (and recorded) up front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.errors import PipelineError
from shipyard.hints import command
from shipyard.pipeline.cache import CachedResult, CacheKey, ResultStore, decode_key, explain
from shipyard.pipeline.fingerprint import CodeHasher, library_versions
from shipyard.pipeline.results import StepResult
from shipyard.redact import redact_value

if TYPE_CHECKING:
    from shipyard.config.schema import TuningConfig
    from shipyard.lake.tables import DeltaStore
    from shipyard.pipeline.dag import Pipeline
    from shipyard.pipeline.step import Step
    from shipyard.project import Project
    from shipyard.tracking.records import RunRecord, RunStore

__all__ = ["SNAPSHOT_KEY", "Planned", "RunSettings", "data_versions", "plan", "planned_result",
           "step_row", "version_of"]

SNAPSHOT_KEY = "snapshot"
"""Key of ``data_versions`` holding the lake snapshot a run read (lake names are layer.table)."""


@dataclass(frozen=True)
class RunSettings:
    """What a run is made of, fixed before it starts (from the CLI or from the resumed run)."""

    params: dict[str, Any]
    data_versions: dict[str, int]
    smoke: bool
    sample: float | None
    resumed: RunRecord | None


@dataclass
class Planned:
    """One step of the plan: its key, why it runs (or not), its cached result, its result."""

    step: Step
    key: CacheKey
    fingerprint: str
    reason: str
    cached: CachedResult | None
    result: StepResult | None = None


def _table_key(name: str, version: int, versions: dict[str, int]) -> str:
    return name if versions.get(name, version) == version else f"{name}@{version}"


def data_versions(built: Pipeline, lake: DeltaStore, pinned: dict[str, int]) -> dict[str, int]:
    """Resolve each lake input to a version number, once, at run start.

    "Latest" means the version in the lake's current snapshot, so a run never reads half of an
    interrupted ingest, and its data version is that one snapshot id (kept under
    ``SNAPSHOT_KEY`` beside the per-table versions). ``pinned`` (the versions of a resumed run)
    wins over the snapshot, so a resumed run reads what the failed one read even if new data
    landed in between.
    """
    from shipyard.lake.snapshots import Snapshots

    snapshots = Snapshots(lake)
    snapshot = (snapshots.get(pinned[SNAPSHOT_KEY]) if SNAPSHOT_KEY in pinned
                else snapshots.current())
    versions: dict[str, int] = {}
    for s in built.steps:
        for source in s.inputs.values():
            if source.kind != "lake":
                continue
            layer, table = source.layer, source.table
            if source.version is not None:
                lake.open(layer, table, source.version)  # fails clearly if it does not exist
                version = source.version
            elif source.name in pinned:
                version = pinned[source.name]
            else:
                found = snapshot.version(layer, table)
                if found is None:
                    lake.open(layer, table)  # a table never ingested: says what to do
                    raise PipelineError(
                        f"{source.name} is not in the lake's snapshot {snapshot.id}: an ingest "
                        f"of {table} was interrupted; run '{command(f'ingest {table}', lake.env)}'")
                version = found
            versions[_table_key(source.name, version, versions)] = version
    if versions and snapshot.id is not None:
        versions[SNAPSHOT_KEY] = snapshot.id
    return versions


def version_of(source_name: str, pinned: int | None, versions: dict[str, int]) -> int:
    if pinned is not None:
        return pinned
    return versions[source_name]


def plan(project: Project, built: Pipeline, settings: RunSettings, tuning: TuningConfig | None,
         runs: RunStore, results: ResultStore, pipeline: str, no_cache: bool,
         run_id: str) -> list[Planned]:
    """The plan of a run, in the pipeline's order."""
    hasher = CodeHasher(project.root)
    previous = runs.previous_keys(pipeline, [s.name for s in built.steps])
    fingerprints: dict[str, str] = {}
    sampled = f"~{settings.sample}" if settings.sample is not None else ""
    run_settings = {"smoke": settings.smoke, "sample": settings.sample,
                    "tuning": redact_value(tuning.model_dump()) if tuning else None}
    planned = []
    for s in built.steps:
        params: dict[str, Any] = {}
        inputs: dict[str, str] = {}
        data: dict[str, str] = {}
        run: dict[str, Any] = {}
        for source in s.inputs.values():
            if source.kind == "param":
                params[source.name] = settings.params[source.name]
            elif source.kind in ("params", "context"):
                params.update(settings.params)
                if source.kind == "context":
                    run = run_settings
            elif source.kind == "output":
                inputs[source.name] = fingerprints[built.outputs[source.name].name]
            else:
                version = version_of(source.name, source.version, settings.data_versions)
                data[_table_key(source.name, version, settings.data_versions)] = (
                    f"{version}{sampled}")
        if not s.cache:  # a key of its own each run: never reused, nor is what it feeds
            run = {**run, "uncached_run": run_id}
        code = hasher.manifest(s.func)
        key = CacheKey(step=s.name, code=code, params=params, inputs=inputs,
                       data=data, run=run, outputs=s.outputs,
                       libraries=library_versions(hasher.libraries(s.func)))
        fingerprint = fingerprints[s.name] = key.fingerprint
        cached = None if no_cache or not s.cache else results.lookup(fingerprint)
        if cached is not None:
            reason = f"reused from run {cached.run_id}"
        elif no_cache:
            reason = "--no-cache"
        elif not s.cache:
            reason = "runs every time (cache=False)"
        else:
            before = previous.get(s.name)
            reason = explain(key, decode_key(before) if before else None)
        planned.append(Planned(s, key, fingerprint, reason, cached))
    return planned


def planned_result(p: Planned) -> StepResult:
    if p.cached is not None:
        return StepResult(name=p.step.name, status="reused", duration_s=0.0, reason=p.reason,
                          fingerprint=p.fingerprint, folder=p.cached.where,
                          outputs={o: p.cached.path(o) for o in p.cached.outputs},
                          reused_from=p.cached.run_id)
    return StepResult(name=p.step.name, status="pending", duration_s=0.0, reason=p.reason,
                      fingerprint=p.fingerprint)


def step_row(position: int, p: Planned) -> dict[str, Any]:
    """The step's row in the run record, as planned."""
    result = planned_result(p)
    return {"position": position, "step": p.step.name, "status": result.status,
            "fingerprint": p.fingerprint, "cache_key": p.key.encode(), "reason": p.reason,
            "reused_from": result.reused_from, "outputs": result.outputs or None,
            "duration_s": 0.0 if p.cached else None}
