"""The recommender's inputs: skew and drift of the interactions it learns from.

A recommender's requests carry only a customer id, so what can move under it is the world its
interactions describe. Four views of the CLEAN order lines (``monitoring.interactions``) are
monitored, with the tests of :mod:`shipyard.monitoring.stats` and the bins of the training
snapshot:

- ``orders_per_customer`` (number): customer activity, orders of a customer in a calendar
  month (per month, so that a year of history compares with one new month);
- ``basket_size`` (number): lines per order;
- ``product`` (category): product popularity, one value per order line;
- ``category`` (category): the category mix, when the catalogue table is there.

*Skew*: the rows the registered version was trained on (the lake version in its lineage tags)
against the rows dated after them in the newest lake version. *Drift*: the rows the newest lake
version added against those the version before it added. The verdict is the same
``drift_share`` rule as for a served model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from shipyard.config.schema import InteractionColumns, MonitoringSettings
from shipyard.errors import NotFoundError
from shipyard.monitoring.findings import ColumnResult, DriftReport, Kind
from shipyard.monitoring.stats import Counts, compare
from shipyard.monitoring.window import Window
from shipyard.names import PRODUCTION
from shipyard.project import Project
from shipyard.train.profile import ColumnProfile, profile_column

if TYPE_CHECKING:
    from shipyard.lake.tables import DeltaStore
    from shipyard.registry.client import Registry

__all__ = ["LakeHistory", "check_interactions", "features", "interaction_results"]


@dataclass(frozen=True)
class LakeVersion:
    version: int
    time: datetime
    last_date: date | None
    """The newest interaction date this version held."""


class LakeHistory:
    """The CLEAN interactions table: its versions, what each knew, and its newest rows."""

    def __init__(self, store: DeltaStore, columns: InteractionColumns) -> None:
        self.store, self.columns = store, columns
        c = columns
        if not store.exists("clean", c.table):
            raise NotFoundError(
                f"monitoring.interactions.table is {c.table!r}, and the lake has no table "
                f"clean.{c.table}; set it in shipyard.yaml to the CLEAN table of the "
                f"recommender's interactions (the defaults name the recommender example's)")
        found = store.history("clean", c.table)
        self.versions = [LakeVersion(v.version, v.time, self._last_date(v.version))
                         for v in sorted(found, key=lambda v: v.version)]
        table = store.open("clean", c.table)
        names = table.schema().to_arrow().names
        missing = [f"monitoring.interactions.{key} is {column!r}"
                   for key, column in (("customer", c.customer), ("product", c.product),
                                       ("order", c.order), ("date", c.date))
                   if column not in names]
        if missing:
            raise NotFoundError(
                f"clean.{c.table} lacks columns shipyard.yaml names: {'; '.join(missing)}. "
                f"Set them to its columns ({', '.join(names)}); the defaults name the "
                f"recommender example's")
        self.rows = table.to_pyarrow_table(
            columns=[c.customer, c.product, c.order, c.date]).to_pandas()
        self.rows.columns = ["customer", "product", "order", "date"]
        self.rows["date"] = pd.to_datetime(self.rows["date"]).dt.date
        self.rows[["customer", "product", "order"]] = self.rows[
            ["customer", "product", "order"]].astype(str)
        self.categories = self._categories()

    def _last_date(self, version: int) -> date | None:
        dates = self.store.open("clean", self.columns.table, version).to_pyarrow_table(
            columns=[self.columns.date]).column(0)
        import pyarrow.compute as pc

        newest = pc.max(dates).as_py()
        return None if newest is None else pd.Timestamp(newest).date()

    def _categories(self) -> pd.Series | None:
        c = self.columns
        if c.products is None or not self.store.exists("clean", c.products):
            return None
        table = self.store.open("clean", c.products)
        if c.category not in table.schema().to_arrow().names:
            return None
        frame = table.to_pyarrow_table(columns=[c.product, c.category]).to_pandas()
        return pd.Series(frame[c.category].astype(str).to_numpy(),
                         index=frame[c.product].astype(str).to_numpy())

    def at(self, when: datetime) -> LakeVersion | None:
        """The newest version committed at or before ``when`` (None: none was)."""
        before = [v for v in self.versions if v.time <= when]
        return before[-1] if before else None

    def version(self, number: int) -> LakeVersion:
        found = [v for v in self.versions if v.version == number]
        if not found:
            raise NotFoundError(f"clean.{self.columns.table} has no version {number}; see "
                                f"'shipyard lake history {self.columns.table} --layer clean'")
        return found[0]

    def between(self, after: date | None, until: date | None) -> pd.DataFrame:
        """The newest version's rows dated in (after, until] (an open end where None)."""
        keep = np.ones(len(self.rows), dtype=bool)
        if after is not None:
            keep &= (self.rows["date"] > after).to_numpy()
        if until is not None:
            keep &= (self.rows["date"] <= until).to_numpy()
        return self.rows[keep]


def features(rows: pd.DataFrame, categories: pd.Series | None) -> dict[str, pd.Series]:
    """The monitored views of interaction rows (columns customer, product, order, and date:
    without it, activity is counted over all the rows)."""
    month = pd.to_datetime(rows["date"]).dt.to_period("M") if "date" in rows else None
    found = {"orders_per_customer": rows.groupby(
                 ["customer"] if month is None else ["customer", month])["order"].nunique(),
             "basket_size": rows.groupby("order").size(),
             "product": rows["product"].astype(object)}
    if categories is not None:
        found["category"] = rows["product"].map(categories).astype(object)
    return {name: values.reset_index(drop=True) for name, values in found.items()}


def _counts(profile: ColumnProfile, values: pd.Series) -> Counts:
    counts, nulls = profile.count(pa.array(values.to_numpy(), from_pandas=True))
    return Counts(counts, nulls)


def interaction_results(kind: Kind, profiles: dict[str, ColumnProfile],
                        reference: dict[str, pd.Series], current: dict[str, pd.Series],
                        settings: MonitoringSettings) -> list[ColumnResult]:
    """Each view of ``current`` against the same view of ``reference``, in the bins of
    ``profiles`` (the training snapshot's)."""
    found = []
    for name, profile in profiles.items():
        ref, cur = _counts(profile, reference[name]), _counts(profile, current[name])
        numeric = profile.kind == "numeric"
        test = compare(ref, cur, numeric, settings.thresholds(name))
        found.append(ColumnResult(name, kind, numeric, test, profile.labels,
                                  ref.shares.tolist(), cur.shares.tolist(), ref.rows, cur.rows))
    return found


def _trained_on(registry: Registry, model: str, version: int, table: str) -> int:
    tags = registry.get(model, version).tags
    for key in (f"shipyard.data.clean.{table}", f"shipyard.data.{table}"):
        if key in tags:
            return int(tags[key])
    raise NotFoundError(
        f"model {model!r} version {version} records no version of clean.{table} in its "
        f"lineage, so its training snapshot is unknown; train it from that table (or name the "
        f"table it learns from under monitoring.interactions.table)")


def check_interactions(project: Project, model: str, registry: Registry) -> DriftReport:
    """Skew (training snapshot vs the rows since) and drift (the newest lake version's new
    rows vs the previous version's) of the interactions of recommender ``model``'s
    production version (else its newest)."""
    from shipyard.lake.tables import DeltaStore

    settings = project.config.monitoring
    version = registry.alias(model, PRODUCTION) or int(registry.versions(model)[0].version)
    lake = LakeHistory(DeltaStore.of(project), settings.interactions)
    trained = lake.version(_trained_on(registry, model, version, settings.interactions.table))
    newest = lake.versions[-1]
    reference = lake.between(None, trained.last_date)
    profiles = {name: profile_column(name, values)
                for name, values in features(reference, lake.categories).items()}
    since = lake.between(trained.last_date, None)
    report = DriftReport(model, version, Window(trained.time, newest.time), settings,
                         len(since), len(since), len(reference))
    base = features(reference, lake.categories)
    if len(since):
        report.results += interaction_results("skew", profiles, base,
                                              features(since, lake.categories), settings)
    else:
        report.notes.append(f"skew not checked: no interactions dated after "
                            f"{trained.last_date}, the newest the model was trained on "
                            f"(clean.{settings.interactions.table} v{trained.version})")
    previous = lake.versions[-2] if len(lake.versions) > 1 else None
    before = lake.versions[-3] if len(lake.versions) > 2 else None
    added = lake.between(previous.last_date if previous else None, None)
    if previous is not None and len(added):
        earlier = lake.between(before.last_date if before else None, previous.last_date)
        report.results += interaction_results("drift", profiles,
                                              features(earlier, lake.categories),
                                              features(added, lake.categories), settings)
    else:
        report.notes.append(f"drift not checked: clean.{settings.interactions.table} has no "
                            f"version that added interactions after an earlier one")
    report.notes.append(
        f"recommender inputs: interactions of clean.{settings.interactions.table}; training "
        f"snapshot v{trained.version} (up to {trained.last_date}, {len(reference):,} rows), "
        f"newest v{newest.version} ({len(since):,} rows dated after the snapshot)")
    return report
