"""What the lake holds, as readers see it: the tables of the current snapshot with their row
counts, a table's published version, and which source rows each batch read.

Everything here reads through the lake's newest snapshot (:mod:`shipyard.lake.snapshots`):
versions written after it by an interrupted ingest are not part of the lake yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shipyard.lake.snapshots import Snapshot, Snapshots
from shipyard.lake.tables import DeltaStore, Layer, unknown_table

__all__ = ["PublishedTable", "batch_selection", "published_tables", "published_version",
           "unpublished"]


@dataclass(frozen=True)
class PublishedTable:
    """One table at the lake's current snapshot."""

    layer: Layer
    name: str
    version: int
    rows: int
    written: datetime


def published_tables(store: DeltaStore, snapshot: Snapshot) -> list[PublishedTable]:
    """Every table in ``snapshot``, by layer, with its rows counted from the Delta log (no
    data file is read)."""
    found = []
    for layer, names in snapshot.tables().items():
        for name in names:
            version = snapshot.version(layer, name)
            assert version is not None  # snapshot.tables() lists only what it holds
            delta = store.open(layer, name, version)
            rows = sum(delta.get_add_actions(flatten=True).column("num_records").to_pylist())
            written = next(v.time for v in store.history(layer, name) if v.version == version)
            found.append(PublishedTable(layer, name, version, rows, written))
    return found


def unpublished(snapshots: Snapshots, snapshot: Snapshot) -> list[str]:
    """``layer.table`` of every table with a version newer than ``snapshot`` holds (written by
    an interrupted ingest; the next ingest of the table publishes it)."""
    return sorted(key for key, v in snapshots.newest_versions().items()
                  if v != snapshot.versions.get(key))


def published_version(store: DeltaStore, layer: Layer, name: str) -> int:
    """The version of ``layer.name`` in the lake's current snapshot; a clear error if none."""
    snapshot = Snapshots(store).current()
    version = snapshot.version(layer, name)
    if version is None:
        raise unknown_table(layer, name, snapshot.tables(), f"{store.env}'s lake", store.env)
    return version


def batch_selection(query: str) -> str:
    """The part of a batch's source query that says which rows were read: its WHERE clause,
    ``all``, or "" for no query (the full query is in the batch's report and in
    'shipyard quarantine show')."""
    if not query:
        return ""
    upper = query.upper()
    if " WHERE " not in upper:
        return "all"
    start = upper.rindex(" WHERE ") + 7
    end = upper.rfind(" ORDER BY ")
    return query[start:end if end > start else None]
