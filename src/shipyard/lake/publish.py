"""Publish landed tables: bring CURATED up to date and commit the lake's next snapshot.

Landing writes RAW and CLEAN; nothing a reader sees changes until :func:`publish` commits the
snapshot naming them. It runs under the snapshot lock, so two ingests of different tables
publish one after the other, each on top of the other's snapshot. CURATED tables are rebuilt
here, from exactly the CLEAN versions the snapshot will name.
"""

from __future__ import annotations

from collections.abc import Callable

from shipyard.config.schema import ProjectConfig
from shipyard.db.locks import Locks
from shipyard.lake.curated import CuratedBuild, build_all_curated
from shipyard.lake.snapshots import Snapshot, Snapshots, snapshot_lock
from shipyard.lake.tables import DeltaStore

__all__ = ["clean_versions", "publish", "upcoming"]


def upcoming(store: DeltaStore, current: Snapshot, tables: list[str]) -> dict[str, int]:
    """The versions the next snapshot will name: ``current``, with RAW and CLEAN of ``tables``
    (whose locks the caller holds, so their newest versions are complete) at their newest."""
    versions = dict(current.versions)
    for name in tables:
        for layer in ("raw", "clean"):
            version = store.version(layer, name)
            if version is not None:
                versions[f"{layer}.{name}"] = version
    return versions


def clean_versions(versions: dict[str, int]) -> dict[str, int]:
    """CLEAN table → version, out of a snapshot's ``layer.table`` → version."""
    return {key.removeprefix("clean."): v for key, v in versions.items()
            if key.startswith("clean.")}


def publish(
    config: ProjectConfig,
    store: DeltaStore,
    locks: Locks,
    tables: list[str],
    *,
    origin: str,
    on_phase: Callable[[str, str], None] | None = None,
) -> tuple[Snapshot, list[CuratedBuild]]:
    """Make the newest RAW/CLEAN versions of ``tables`` visible, with CURATED rebuilt on them.

    Returns the snapshot readers now see (the current one when nothing changed).
    """
    snapshots = Snapshots(store)
    with snapshot_lock(locks):
        current = snapshots.current()
        versions = upcoming(store, current, tables)
        builds = build_all_curated(config, store, clean_versions(versions), on_phase=on_phase)
        for build in builds:
            version = build.version if build.version is not None else store.version(
                "curated", build.name)
            if version is not None:
                versions[f"curated.{build.name}"] = version
        if not versions or (current.id is not None and versions == current.versions):
            return current, builds
        return snapshots.commit(versions, origin=origin), builds
