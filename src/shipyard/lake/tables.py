"""Delta Lake tables of the lake: layered paths, versioned writes with metadata, time travel.

Every write is a Delta commit whose ``custom_metadata`` records what produced it (batch, rows,
source query, validation report, shipyard version), so ``history`` answers "where did version N
come from" from the table itself, readable by any Delta reader.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from shipyard.errors import NotFoundError
from shipyard.hints import DEFAULT_ENV, command

if TYPE_CHECKING:
    from shipyard.project import Project

__all__ = ["LAYERS", "DeltaStore", "Layer", "TableVersion", "unknown_table"]

Layer = Literal["raw", "clean", "curated"]
LAYERS: tuple[Layer, ...] = ("raw", "clean", "curated")
META_PREFIX = "shipyard."
TARGET_FILE_SIZE = 64 << 20
"""Data files of about 64 MiB: the writer buffers up to a file's worth of rows, so this bounds
the memory of a write (and stays a good size for readers)."""


@dataclass(frozen=True)
class TableVersion:
    """One version of a lake table, as shown by ``lake history``."""

    version: int
    time: datetime
    operation: str
    rows: int | None
    metadata: dict[str, str]


class DeltaStore:
    """The lake's Delta tables under one root (a folder or an object store URL).

    ``env`` names the environment whose lake it is, so that its errors suggest commands that
    act on this lake, not dev's.
    """

    def __init__(self, root: str, *, storage_options: dict[str, str] | None = None,
                 env: str = DEFAULT_ENV) -> None:
        self.root = root.rstrip("/")
        self.storage_options = storage_options
        self.env = env

    @classmethod
    def of(cls, project: Project) -> DeltaStore:
        """The lake of ``project``'s environment."""
        return cls(project.lake_root, storage_options=project.storage_options,
                   env=project.env_name)

    def uri(self, layer: Layer, name: str) -> str:
        return f"{self.root}/{layer}/{name}"

    def open(self, layer: Layer, name: str, version: int | None = None) -> DeltaTable:
        try:
            return DeltaTable(
                self.uri(layer, name), version=version, storage_options=self.storage_options
            )
        except TableNotFoundError:
            raise unknown_table(layer, name, self.tables(), f"{self.env}'s lake at {self.root}",
                                self.env) from None
        except Exception as error:  # deltalake raises plain exceptions for a bad version
            if version is not None and "version" in str(error).lower():
                raise NotFoundError(
                    f"{layer}.{name} has no version {version}; "
                    f"see '{command(f'lake history {name} --layer {layer}', self.env)}'"
                ) from None
            raise

    def exists(self, layer: Layer, name: str) -> bool:
        return DeltaTable.is_deltatable(self.uri(layer, name), self.storage_options)

    def version(self, layer: Layer, name: str) -> int | None:
        return self.open(layer, name).version() if self.exists(layer, name) else None

    def write(
        self,
        layer: Layer,
        name: str,
        data: pa.RecordBatchReader | pa.Table,
        *,
        mode: Literal["append", "overwrite"],
        metadata: dict[str, Any],
        partition_by: list[str] | None = None,
    ) -> int:
        """Commit ``data`` as a new version and return its number."""
        from shipyard._version import __version__

        custom = {f"{META_PREFIX}{k}": str(v) for k, v in metadata.items() if v is not None}
        custom[f"{META_PREFIX}version"] = __version__
        write_deltalake(
            self.uri(layer, name),
            data,
            mode=mode,
            partition_by=partition_by,
            schema_mode="overwrite" if mode == "overwrite" else "merge",
            storage_options=self.storage_options,
            commit_properties=CommitProperties(custom_metadata=custom),
            target_file_size=TARGET_FILE_SIZE,
        )
        return self.open(layer, name).version()

    def history(self, layer: Layer, name: str) -> list[TableVersion]:
        """Versions of a table, newest first."""
        versions = []
        for entry in self.open(layer, name).history():
            metrics = entry.get("operationMetrics") or {}
            meta = {
                k.removeprefix(META_PREFIX): str(v)
                for k, v in entry.items()
                if k.startswith(META_PREFIX)
            }
            rows = meta.get("rows")
            versions.append(
                TableVersion(
                    version=int(entry["version"]),
                    time=datetime.fromtimestamp(entry["timestamp"] / 1000, tz=UTC),
                    operation=str(entry.get("operation", "")),
                    rows=int(rows) if rows is not None else metrics.get("num_added_rows"),
                    metadata=meta,
                )
            )
        return versions

    def last_metadata(self, layer: Layer, name: str) -> dict[str, str]:
        """Shipyard metadata of the newest version ({} when the table does not exist)."""
        if not self.exists(layer, name):
            return {}
        history = self.history(layer, name)
        return history[0].metadata if history else {}

    def tables(self) -> dict[Layer, list[str]]:
        """Names of the Delta tables present in each layer (local lakes only list folders)."""
        from pathlib import Path

        found: dict[Layer, list[str]] = {}
        for layer in LAYERS:
            folder = Path(self.root.removeprefix("file://")) / layer
            names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
            found[layer] = [n for n in names if self.exists(layer, n)]
        return found


def unknown_table(layer: Layer, name: str, held: Mapping[Layer, list[str]],
                  where: str, env: str = DEFAULT_ENV) -> NotFoundError:
    """The error for ``layer.name`` missing from ``where``, naming the tables there are.

    "Run 'shipyard ingest' first" is the fix for an empty lake only; a misspelled name
    (``order_line``) or the wrong layer needs the names, the closest one first.
    """
    names = held.get(layer, [])
    if not any(held.values()):
        return NotFoundError(f"{layer}.{name} is not in {where}, which is empty (each "
                             f"environment has its own lake); run '{command('ingest', env)}' "
                             f"first")
    elsewhere = [other for other, tables in held.items() if other != layer and name in tables]
    if elsewhere:
        hint = f"; it is in the {' and '.join(elsewhere)} layer: pass --layer {elsewhere[0]}"
    else:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    holds = ", ".join(names) if names else "nothing yet"
    return NotFoundError(f"{layer}.{name} is not in {where}{hint}; the {layer} layer holds: "
                         f"{holds} (see '{command('lake ls', env)}')")
