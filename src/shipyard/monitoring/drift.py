"""Skew and drift of a served model, per column and overall (Vertex AI's definitions).

- *Skew*: the serving inputs of a window against the reference profile of the version that
  answered them (its training rows; its outputs on its test rows for the prediction).
- *Drift*: the serving window against the previous window of the same length (all versions:
  the world's inputs moved, whichever model saw them), counted into the same bins.

Each input column and the prediction are tested by :func:`shipyard.monitoring.stats.compare`.
A kind of check (skew, drift) finds the model drifted when at least ``drift_share`` of its
input columns drift (Evidently's dataset-drift convention) or its prediction does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from shipyard.config.schema import MonitoringSettings
from shipyard.errors import NotFoundError
from shipyard.monitoring.findings import ColumnResult, DriftReport, Kind
from shipyard.monitoring.logged import LoggedPredictions, Tally
from shipyard.monitoring.stats import Counts, compare
from shipyard.monitoring.window import Window
from shipyard.names import FLAVOR
from shipyard.project import Project
from shipyard.train.profile import ColumnProfile, ReferenceProfile

__all__ = ["check_drift", "measure"]

def _results(kind: Kind, profile: ReferenceProfile, reference: dict[str, Counts],
             current: Tally, settings: MonitoringSettings) -> list[ColumnResult]:
    every: list[ColumnProfile] = [*profile.columns, *([profile.output] if profile.output else [])]
    found = []
    for column in every:
        ref, cur = reference[column.name], current.columns[column.name]
        numeric = column.kind == "numeric"
        test = compare(ref, cur, numeric, settings.thresholds(column.name))
        found.append(ColumnResult(column.name, kind, numeric, test, column.labels,
                                  ref.shares.tolist(), cur.shares.tolist(), ref.rows, cur.rows))
    return found


def _profile_counts(profile: ReferenceProfile) -> dict[str, Counts]:
    every = [*profile.columns, *([profile.output] if profile.output else [])]
    return {c.name: Counts(np.asarray(c.counts, dtype=np.int64), c.nulls) for c in every}


def check_drift(project: Project, model: str, length: timedelta, *,
                since: datetime | None = None, now: datetime | None = None,
                progress: Callable[[int, int], Any] = lambda done, total: None) -> DriftReport:
    """Skew and drift of ``model`` over the window of ``length`` ending now (or from
    ``since``); ``progress(rows_done, rows_total)`` follows the reading of the log.

    Raises:
        NotFoundError: unknown model, no prediction log, nothing logged in the window, or a
            version without a reference profile — each naming the fix.
    """
    from shipyard.registry.client import Registry

    registry = Registry.of(project)
    newest = registry.versions(model)[0]  # an unknown model is an error naming the known ones
    if newest.tags.get(FLAVOR) == "recommender":  # its inputs are interactions
        from shipyard.monitoring.interactions import check_interactions

        return check_interactions(project, model, registry)
    settings = project.config.monitoring
    window = Window.of(length, since, now)
    log = LoggedPredictions(project.lake_root, project.storage_options, model)
    version = log.newest_version(window)
    if version is None:
        raise NotFoundError(
            f"no predictions of model {model!r} logged in {window}; widen the window "
            f"(--window 30d), move it (--since 2026-11-01), or serve the model and send it "
            f"requests")
    profile = registry.profile(model, version)
    if profile is None:
        raise NotFoundError(
            f"model {model!r} version {version} has no reference profile: it was registered "
            f"before Shipyard kept one with each version. Retrain it so that a new version "
            f"carries one ('{project.command(f'run {_pipeline(project, model)} --no-cache')}'), "
            f"promote "
            f"that version, and serve it")
    return measure(log, profile, version, window, settings, progress=progress)


def measure(log: LoggedPredictions, profile: ReferenceProfile, version: int, window: Window,
            settings: MonitoringSettings, *,
            progress: Callable[[int, int], Any] = lambda done, total: None) -> DriftReport:
    """Skew of ``window``'s rows answered by ``version`` against ``profile``, and drift of
    all its rows against the previous window's: the work of :func:`check_drift` once the
    model, version and profile are known."""
    # the total the log lists (refused rows too): each window is read once, to count it
    listed = log.listed(window)[0] + log.listed(window.previous)[0]
    done = 0

    def advance(batch: int) -> None:
        nonlocal done
        done += batch
        progress(done, max(listed, done))

    everything, answered = log.tally(profile, window, version=version, progress=advance)
    before, _ = log.tally(profile, window.previous, progress=advance)
    report = DriftReport(log.model, version, window, settings, everything.rows, answered.rows,
                         before.rows)
    report.results += _results("skew", profile, _profile_counts(profile), answered, settings)
    if before.rows:
        report.results += _results("drift", profile, before.columns, everything, settings)
    else:
        report.notes.append(f"drift not checked: nothing was logged in the previous window "
                            f"({window.previous})")
    if answered.rows < everything.rows:
        report.notes.append(f"skew checked on the {answered.rows} of {everything.rows} rows "
                            f"answered by version {version}, the newest in the window")
    return report


def _pipeline(project: Project, model: str) -> str:
    config = project.config.models.get(model)
    return config.pipeline if config is not None else "PIPELINE"
