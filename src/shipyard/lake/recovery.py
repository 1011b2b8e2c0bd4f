"""Finishing what a killed ingest left, before the next ingest of the same tables starts.

An ingest records each batch's state before acting on it (``staging`` → ``landing`` →
``landed``, or ``rejected``), so the batch register says what a killed process was doing: a
batch caught ``landing`` is rolled forward (its file in the state store is complete), a batch
caught ``staging`` is abandoned (its data may be partial), and a rejected batch whose move to
quarantine was cut short is moved now. Runs under the tables' locks, so no live ingest's
files are touched, whichever machine the killed ingest ran on.
"""

from __future__ import annotations

from collections.abc import Callable

from shipyard.config.schema import ProjectConfig
from shipyard.lake.batches import BatchRegister
from shipyard.lake.files import BatchFiles
from shipyard.lake.landing import land_batch
from shipyard.lake.tables import DeltaStore

__all__ = ["recover", "sweep_staging"]


def recover(config: ProjectConfig, store: DeltaStore, register: BatchRegister, files: BatchFiles,
            names: list[str], on_phase: Callable[[str, str], None]) -> None:
    """Finish what a killed ingest of ``names`` left: roll landing batches forward, abandon
    batches caught staging, and clear the staging area of every file not being landed."""
    for name in names:
        table = config.tables[name]
        for batch in register.find(table_name=name, status="landing"):
            on_phase(name, f"resuming batch {batch.id} left by an interrupted ingest")
            land_batch(store, register, batch, name, table, staged=files.fetch(batch.staged_path))
            if (key := files.key(batch.staged_path)) is not None:
                files.remove(key)
        for batch in register.find(table_name=name, status="staging"):
            register.update(batch.id, status="abandoned", staged_path=None,
                            summary="interrupted while staging")
    sweep_staging(register, files, names)


def sweep_staging(register: BatchRegister, files: BatchFiles, names: list[str]) -> None:
    """Remove staged files of ``names`` that no batch still needs.

    Files are matched by batch id, so a file whose record never learnt its path (killed
    right after staging) is found too. A rejected (or held) batch whose move to quarantine was
    cut short is moved there now (a folder store's; an object store's staged file was still in
    the killed process's scratch folder, and its rows are read again by the next ingest).
    """
    for key in files.staged():
        file_name = key.rsplit("/", 1)[-1]
        batch_id = file_name.split(".", 1)[0]
        if not batch_id.isdigit():
            continue
        batch = register.find_one(int(batch_id))
        if batch is not None and (batch.table_name not in names or batch.status == "landing"):
            continue  # another ingest's table, or the data of a batch being landed
        target = files.key(batch.staged_path) if batch is not None else None
        local = files.local(key)
        if (batch is not None and batch.status in ("rejected", "held") and target is not None
                and target != key and file_name.endswith(".parquet") and local.is_file()
                and not files.state.exists(target)):
            files.keep(target, local)
        else:
            files.remove(key)
