"""Finishing what a killed ingest left, before the next ingest of the same tables starts.

An ingest records each batch's state before acting on it (``staging`` → ``landing`` →
``landed``, or ``rejected``), so the batch register says what a killed process was doing: a
batch caught ``landing`` is rolled forward (its staged file is complete), a batch caught
``staging`` is abandoned (its data may be partial), and a rejected batch whose move to
quarantine was cut short is moved now. Runs under the tables' locks, so no live ingest's
files are touched.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from shipyard.config.schema import ProjectConfig
from shipyard.lake.batches import BatchRegister
from shipyard.lake.landing import land_batch
from shipyard.lake.tables import DeltaStore

__all__ = ["recover", "sweep_staging"]


def recover(config: ProjectConfig, store: DeltaStore, register: BatchRegister, state: Path,
            names: list[str], on_phase: Callable[[str, str], None]) -> None:
    """Finish what a killed ingest of ``names`` left: roll landing batches forward, abandon
    batches caught staging, and clear the staging folder of every file not being landed."""
    for name in names:
        table = config.tables[name]
        for batch in register.find(table_name=name, status="landing"):
            on_phase(name, f"resuming batch {batch.id} left by an interrupted ingest")
            land_batch(store, register, batch, name, table, staged=Path(batch.staged_path or ""))
        for batch in register.find(table_name=name, status="staging"):
            register.update(batch.id, status="abandoned", staged_path=None,
                            summary="interrupted while staging")
    sweep_staging(register, state, names)


def sweep_staging(register: BatchRegister, state: Path, names: list[str]) -> None:
    """Remove staged files of ``names`` that no batch still needs.

    Files are matched by batch id, so a file whose record never learnt its path (killed
    right after staging) is found too. A rejected (or held) batch whose move to quarantine was
    cut short is moved there now.
    """
    folder = state / "staging"
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        batch_id = path.name.split(".", 1)[0]
        if not batch_id.isdigit():
            continue
        batch = register.find_one(int(batch_id))
        if batch is not None and (batch.table_name not in names or batch.status == "landing"):
            continue  # another ingest's table, or the data of a batch being landed
        target = Path(batch.staged_path) if batch and batch.staged_path else None
        if (batch is not None and batch.status in ("rejected", "held") and target is not None
                and target != path and path.suffix == ".parquet" and not target.exists()):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
        else:
            path.unlink(missing_ok=True)
