"""A batch's Parquet file and report in the environment's state store.

A batch is staged in a local file (validation queries it with DuckDB, landing streams it into
Delta), but a file only this process can read is no use to another: the next ingest rolling a
killed landing forward, or a person accepting a quarantined batch from another machine. So
the file goes into the state store (:mod:`shipyard.state`) at the moment another process may
need it: ``staging/<batch>.parquet`` just before it lands, ``quarantine/<batch>.parquet`` when
it is rejected or held; its report always goes to ``reports/<batch>.json``. The batch register
records where (:meth:`~shipyard.state.StateStore.where`: a path locally, a URL at team scale).

With the folder store (the embedded default) the local file *is* the stored one, in
``<state>/staging``, and keeping it is a rename. With an object store the local file is in a
private scratch folder, removed when the ingest ends; one SIGKILLed leaves it in the system's
temporary folder, never in the working directory.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from shipyard.lake.validation import ValidationReport
from shipyard.state import StateStore

__all__ = ["BatchFiles", "quarantine_key", "staging_key"]


def staging_key(batch_id: int) -> str:
    return f"staging/{batch_id}.parquet"


def quarantine_key(batch_id: int) -> str:
    return f"quarantine/{batch_id}.parquet"


class BatchFiles:
    """The files of batches, in ``state`` and in this process's scratch folder."""

    def __init__(self, state: StateStore) -> None:
        self.state = state
        self._scratch: Path | None = None

    def local(self, key: str) -> Path:
        """The local file that stands for ``key`` in this process: the stored file itself for
        a folder store, else a file of the private scratch folder."""
        if self.state.is_local:
            return Path(self.state.where(key))
        if self._scratch is None:
            self._scratch = self.state.scratch("batches")
        return self._scratch / key

    def keep(self, key: str, local: Path) -> str:
        """Store the local file ``local`` at ``key`` for other processes; returns where it is.

        A folder store moves it (a rename on one file system); an object store uploads it and
        the local copy stays, to be read on without downloading it again.
        """
        if not self.state.is_local:
            return self.state.put_file(key, local)
        target = self.local(key)
        if local != target:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(local, target)
        return str(target)

    def key(self, where: str | None) -> str | None:
        """The key of a recorded ``where`` (None when nothing, or another layout, is recorded)."""
        return self.state.key_of(where) if where else None

    def fetch(self, where: str | None) -> Path:
        """A local file with the data recorded at ``where`` (downloaded once from an object
        store); a missing file is the caller's to report (``exists`` is False)."""
        key = self.key(where)
        if key is None:
            return Path(where or "")  # a path recorded by an older version: read it as is
        local = self.local(key)
        if not self.state.is_local and not local.is_file() and self.state.exists(key):
            self.state.get_file(key, local)
        return local

    def exists(self, where: str | None) -> bool:
        key = self.key(where)
        return self.state.exists(key) if key is not None else Path(where or "").is_file()

    def remove(self, key: str) -> None:
        """Remove ``key`` from the store and its local copy, if any."""
        self.state.delete(key)
        self.local(key).unlink(missing_ok=True)

    def staged(self) -> list[str]:
        """Keys under ``staging/``, with the partial files of a folder store's stagings."""
        if not self.state.is_local:
            return self.state.list("staging")
        folder = self.local("staging")
        return sorted(f"staging/{p.name}" for p in folder.iterdir()) if folder.is_dir() else []

    def save_report(self, report: ValidationReport) -> str:
        return self.state.put(f"reports/{report.batch_id}.json", report.to_json())

    def load_report(self, where: str | None) -> ValidationReport | None:
        """The report recorded at ``where``; None when none was recorded."""
        if not where:
            return None
        key = self.key(where)
        data = self.state.get(key) if key is not None else Path(where).read_bytes()
        return ValidationReport.from_json(data)

    def close(self) -> None:
        """Remove this process's scratch folder (an object store's local copies)."""
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
