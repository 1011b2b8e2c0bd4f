"""The state store: one key → bytes interface over a local folder and an object store.

The object store is S3 served by moto's standalone server (a real S3 API over HTTP), reached
through the environment variables a pod would have, as deltalake reaches the lake.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.errors import NotFoundError, StoreUnreachable
from shipyard.state import FolderState, ObjectState, StateStore, open_state

BUCKET = "shipyard-state-test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    """moto's S3 server on a free port, and the environment that reaches it."""
    port = _free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ALLOW_HTTP": "true",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "us-east-1"}
    try:
        import boto3

        deadline = time.monotonic() + 60
        while True:
            try:
                boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                             aws_access_key_id="testing",
                             aws_secret_access_key="testing").create_bucket(Bucket=BUCKET)
                break
            except Exception:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> StateStore:
    if request.param == "folder":
        return open_state(str(tmp_path / "state"))
    for key, value in request.getfixturevalue("s3_env").items():
        monkeypatch.setenv(key, value)
    return open_state(f"s3://{BUCKET}/{uuid.uuid4().hex}/state")


def test_the_setting_picks_the_store(tmp_path: Path) -> None:
    assert isinstance(open_state(str(tmp_path)), FolderState)
    assert isinstance(open_state("s3://bucket/state"), ObjectState)
    assert isinstance(open_state("abfss://c@account.dfs.core.windows.net/state"), ObjectState)
    assert not open_state("az://container/state").is_local


def test_put_get_list_delete(store: StateStore, tmp_path: Path) -> None:
    where = store.put("reports/21.json", b'{"passed": false}')
    assert where == store.where("reports/21.json")
    assert store.key_of(where) == "reports/21.json"
    assert store.get("reports/21.json") == b'{"passed": false}'
    source = tmp_path / "batch.parquet"
    source.write_bytes(b"PAR1" * 1000)
    store.put_file("quarantine/21.parquet", source)
    assert store.exists("quarantine/21.parquet")
    assert store.get_file("quarantine/21.parquet", tmp_path / "back" / "21.parquet").read_bytes() \
        == source.read_bytes()
    assert store.list("reports") == ["reports/21.json"]
    assert store.list("nothing") == []
    store.delete("reports/21.json")
    store.delete("reports/21.json")  # a second delete is no error
    assert not store.exists("reports/21.json")
    with pytest.raises(NotFoundError, match=r"reports/21\.json does not exist"):
        store.get("reports/21.json")


def test_a_tree_goes_and_comes_back_whole(store: StateStore, tmp_path: Path) -> None:
    folder = tmp_path / "result"
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "weights.npy").write_bytes(b"\x93NUMPY")
    (folder / "manifest.json").write_text("{}")
    store.put_tree("artifacts/abc", folder)
    assert store.list("artifacts/abc") == ["artifacts/abc/manifest.json",
                                           "artifacts/abc/model/weights.npy"]
    back = store.get_tree("artifacts/abc", tmp_path / "copy")
    assert (back / "model" / "weights.npy").read_bytes() == b"\x93NUMPY"
    store.delete_tree("artifacts/abc")
    assert store.list("artifacts") == []


def test_scratch_of_an_object_store_is_never_the_working_directory(
        s3_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    scratch = open_state(f"s3://{BUCKET}/x").scratch("staging")
    assert not scratch.is_relative_to(tmp_path)
    assert scratch.is_dir() and os.access(scratch, os.W_OK)


def test_an_unreachable_object_store_names_itself_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    store = open_state("s3://nowhere-bucket/state")
    with pytest.raises(StoreUnreachable, match=r"s3://nowhere-bucket/state/reports/1.json.*credentials"):
        store.put("reports/1.json", b"{}")
