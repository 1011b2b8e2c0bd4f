"""A batch's files in the state store: what one process keeps, another finds by the recorded
``where``, in a folder (the embedded default) and in S3 (moto's server)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard.lake.files import BatchFiles, quarantine_key, staging_key
from shipyard.lake.validation import ValidationReport
from shipyard.lake.validation.report import Check
from shipyard.state import StateStore


def staged(files: BatchFiles, batch_id: int) -> Path:
    local = files.local(staging_key(batch_id))
    local.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": [1, 2, 3]}), local)
    return local


def test_a_kept_file_is_found_by_another_process_and_removed(store: StateStore) -> None:
    ours, theirs = BatchFiles(store), BatchFiles(store)
    where = ours.keep(quarantine_key(7), staged(ours, 7))
    assert where == store.where("quarantine/7.parquet")
    ours.close()

    assert theirs.exists(where)
    assert pq.read_table(theirs.fetch(where)).column("id").to_pylist() == [1, 2, 3]
    theirs.remove(quarantine_key(7))
    assert not theirs.exists(where) and store.list("quarantine") == []
    theirs.close()


def test_a_report_is_read_back_from_its_recorded_place(store: StateStore) -> None:
    report = ValidationReport(batch_id=3, table="orders", rows=10, reference="none",
                              checks=[Check("null_rate", False, "too many nulls", column="kind")])
    where = BatchFiles(store).save_report(report)
    assert where == store.where("reports/3.json")
    assert BatchFiles(store).load_report(where) == report
    assert BatchFiles(store).load_report(None) is None


def test_the_staging_area_lists_what_waits_there(store: StateStore) -> None:
    files = BatchFiles(store)
    files.keep(staging_key(4), staged(files, 4))
    assert files.staged() == ["staging/4.parquet"]
    files.remove(staging_key(4))
    assert files.staged() == []
    files.close()


def test_a_path_recorded_by_an_older_version_is_read_as_is(store: StateStore,
                                                            tmp_path: Path) -> None:
    old = tmp_path / "elsewhere" / "5.parquet"
    old.parent.mkdir()
    pq.write_table(pa.table({"id": [5]}), old)
    files = BatchFiles(store)
    assert files.exists(str(old)) and files.fetch(str(old)) == old


@pytest.mark.usefixtures("s3_env")
def test_an_object_store_works_in_the_temporary_folder_never_the_working_directory(
        store: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if store.is_local:
        pytest.skip("the folder store's local files are its own")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    files = BatchFiles(store)
    local = staged(files, 9)
    assert local.is_relative_to(tempfile.gettempdir())
    files.keep(staging_key(9), local)
    assert local.is_file()  # read on by landing without downloading it again
    files.close()
    assert not local.exists() and list(cwd.iterdir()) == []
    assert store.list("staging") == ["staging/9.parquet"]
