"""Assertions about a project's lake, read with the same libraries a user would use."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from deltalake import DeltaTable

LAYERS = ("raw", "clean", "curated")


def versions(lake: Path) -> dict[str, int]:
    """Newest version of every Delta table, keyed ``layer.table``."""
    found = {}
    for layer in LAYERS:
        folder = lake / layer
        if folder.is_dir():
            for table in sorted(folder.iterdir()):
                found[f"{layer}.{table.name}"] = DeltaTable(str(table)).version()
    return found


def strings_in_files(folder: Path) -> tuple[bytes, set[str], set[str]]:
    """All bytes of every file under ``folder``, every string value and column name of its
    Parquet files.

    Parquet pages are compressed, so a value can hide from a byte scan; decoding every string
    column closes that gap, while the byte scan covers the Delta log's JSON (column statistics).
    """
    raw = b""
    values: set[str] = set()
    columns: set[str] = set()
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        raw += path.read_bytes()
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            columns.update(table.column_names)
            for column in table.columns:
                if str(column.type) in ("string", "large_string", "string_view"):
                    values.update(v for v in column.to_pylist() if v is not None)
    return raw, values, columns


def staged_files(project: Path, env: str = "dev") -> list[str]:
    """Files left in the staging folder of ``env`` (none once every ingest has ended)."""
    folder = project / ".shipyard" / env / "staging"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def published(lake: Path) -> tuple[int, dict[str, int]]:
    """The lake's newest snapshot: its id and ``layer.table`` → version, read from the
    manifest with a plain Delta reader."""
    rows = DeltaTable(str(lake / "_snapshots")).to_pyarrow_table().to_pylist()
    newest = max(row["snapshot"] for row in rows)
    return newest, {f"{r['layer']}.{r['table']}": r["version"] for r in rows
                    if r["snapshot"] == newest}
