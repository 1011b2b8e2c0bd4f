"""Lake snapshots: the one manifest that says which version of every table is the lake.

Each Delta table commits atomically, but an ingest writes several tables (RAW and CLEAN of each
source table, then CURATED), and a process killed between two commits would otherwise let a
reader see ``orders`` with its new month and ``order_lines`` without it. So an ingest ends by
appending one row per table (layer, table, version) under a new snapshot id to a Delta table of
its own, ``<lake>/_snapshots``, in one commit: that commit is the moment the ingest becomes
visible, all of it at once. Readers (``shipyard lake``, pipelines) read tables at the versions of
the newest snapshot; versions written after it, by an ingest that was killed, stay invisible
until the next ingest of those tables publishes them. Delta works the same on an object store,
so the manifest does too.

A lake written before snapshots existed has no manifest: readers then see every table's newest
version, and the next ingest writes the first snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, write_deltalake

from shipyard.db.locks import Locks
from shipyard.errors import NotFoundError
from shipyard.faults import crash_point
from shipyard.hints import command
from shipyard.lake.tables import LAYERS, DeltaStore, Layer

__all__ = ["Snapshot", "Snapshots", "snapshot_lock"]

FOLDER = "_snapshots"
_SCHEMA = pa.schema([
    pa.field("snapshot", pa.int64(), nullable=False),
    pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("origin", pa.string()),
    pa.field("layer", pa.string(), nullable=False),
    pa.field("table", pa.string(), nullable=False),
    pa.field("version", pa.int64(), nullable=False),
])
LOCK_WAIT_S = 3600.0
"""The snapshot lock is held only to build stale CURATED tables and commit; a killed holder
releases it at once, so waiting long is safe and a finished landing is never thrown away."""


@dataclass(frozen=True)
class Snapshot:
    """The lake at one moment: ``layer.table`` → version. ``id`` is None for a lake that has
    no manifest yet (every table's newest version)."""

    id: int | None
    created_at: datetime | None
    versions: dict[str, int]

    def version(self, layer: Layer, name: str) -> int | None:
        return self.versions.get(f"{layer}.{name}")

    def tables(self) -> dict[Layer, list[str]]:
        found: dict[Layer, list[str]] = {layer: [] for layer in LAYERS}
        for key in sorted(self.versions):
            layer, name = key.split(".", 1)
            found[layer].append(name)  # type: ignore[index]
        return found


@contextmanager
def snapshot_lock(locks: Locks, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Serialise "read the newest snapshot, build on it, commit the next one" across ingests
    of different tables, so that neither loses the other's tables."""
    busy = ("the lake's snapshot is being written by {holder}; wait for it, or pass --wait "
            "SECONDS")
    with locks.hold("snapshot", busy, wait_s):
        yield


class Snapshots:
    """The manifest of a lake, read and appended through Delta."""

    def __init__(self, store: DeltaStore) -> None:
        self.store = store
        self.uri = f"{store.root}/{FOLDER}"

    def _rows(self) -> pa.Table | None:
        if not DeltaTable.is_deltatable(self.uri, self.store.storage_options):
            return None
        return DeltaTable(self.uri, storage_options=self.store.storage_options).to_pyarrow_table()

    def _snapshot(self, rows: pa.Table, snapshot_id: int) -> Snapshot:
        mine = rows.filter(pc.equal(rows.column("snapshot"), snapshot_id))
        if mine.num_rows == 0:
            raise NotFoundError(self._no_snapshot(snapshot_id))
        versions = {f"{r['layer']}.{r['table']}": int(r["version"]) for r in mine.to_pylist()}
        return Snapshot(snapshot_id, mine.column("created_at")[0].as_py(), versions)

    def latest(self) -> Snapshot | None:
        """The newest snapshot, or None when the lake has no manifest yet."""
        rows = self._rows()
        if rows is None or rows.num_rows == 0:
            return None
        return self._snapshot(rows, int(pc.max(rows.column("snapshot")).as_py()))

    def get(self, snapshot_id: int) -> Snapshot:
        rows = self._rows()
        if rows is None:
            raise NotFoundError(self._no_snapshot(snapshot_id))
        return self._snapshot(rows, snapshot_id)

    def _no_snapshot(self, snapshot_id: int) -> str:
        return (f"{self.store.env}'s lake has no snapshot {snapshot_id}; "
                f"see '{command('lake ls', self.store.env)}'")

    def current(self) -> Snapshot:
        """What readers see: the newest snapshot, or every table's newest version when the
        lake predates snapshots."""
        latest = self.latest()
        if latest is not None:
            return latest
        return Snapshot(None, None, self.newest_versions())

    def newest_versions(self) -> dict[str, int]:
        """Every table's newest Delta version, published or not (writers only)."""
        versions = {}
        for layer, names in self.store.tables().items():
            for name in names:
                version = self.store.version(layer, name)
                if version is not None:
                    versions[f"{layer}.{name}"] = version
        return versions

    def published_in(self, layer: Layer, name: str) -> dict[int, int]:
        """Version of ``layer.name`` → the first snapshot that published it."""
        rows = self._rows()
        if rows is None:
            return {}
        mine = rows.filter(pc.and_(pc.equal(rows.column("layer"), layer),
                                   pc.equal(rows.column("table"), name)))
        first: dict[int, int] = {}
        for row in mine.to_pylist():
            version, snapshot = int(row["version"]), int(row["snapshot"])
            first[version] = min(snapshot, first.get(version, snapshot))
        return first

    def commit(self, versions: dict[str, int], *, origin: str) -> Snapshot:
        """Append the next snapshot naming ``versions`` (the whole lake), in one Delta commit.

        The caller holds :func:`snapshot_lock` and built ``versions`` from :meth:`current`.
        """
        latest = self.latest()
        snapshot_id = 1 if latest is None else int(latest.id or 0) + 1
        now = datetime.now(UTC)
        keys = sorted(versions)
        rows = pa.table({
            "snapshot": [snapshot_id] * len(keys),
            "created_at": [now] * len(keys),
            "origin": [origin] * len(keys),
            "layer": [k.split(".", 1)[0] for k in keys],
            "table": [k.split(".", 1)[1] for k in keys],
            "version": [versions[k] for k in keys],
        }, schema=_SCHEMA)
        crash_point("before-snapshot")
        write_deltalake(
            self.uri, rows, mode="append", storage_options=self.store.storage_options,
            commit_properties=CommitProperties(
                custom_metadata={"shipyard.snapshot": str(snapshot_id),
                                 "shipyard.origin": origin}),
        )
        return Snapshot(snapshot_id, now, dict(versions))
