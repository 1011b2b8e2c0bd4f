"""A planted database password never leaves Shipyard: not in a store, a file, a log or a message.

Every configurable URL of the Titanic example (source, metadata, results, MLflow tracking
store, Optuna storage, webhook) carries one distinctive password, on PostgreSQL databases of a
role that has it. The lifecycle runs as a user would run it — ingest, a good and a failing
training, promote, a challenger compared with production, batch predict, serve, a quarantined
batch, an unreachable tracking store — and then every
store, file, log, captured output and webhook body is searched for the password.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL
from tests.e2e.cli import python, run, start
from tests.e2e.examples import add_webhook
from tests.e2e.server import AUTH, KEY, free_port
from tests.e2e.test_serving import ROW, small
from tests.receiver import Receiver

PASSWORD = f"Pw{uuid.uuid4().hex}Zq"
"""Distinctive: found anywhere only if Shipyard wrote it there."""

STORES = ("source", "metadata", "results", "mlflow", "optuna")

ENV_YAML = """\
  dev:
    lake: lake
    metadata_db: ${SY_METADATA_DB}
    results_db: ${SY_RESULTS_DB}
    tracking_uri: ${SY_TRACKING_URI}
"""


@pytest.fixture(scope="module")
def databases() -> Iterator[dict[str, str]]:
    """A role with PASSWORD owning one fresh database per store; URLs that carry it."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    tag = uuid.uuid4().hex[:10]
    role = f"shipyard_secret_{tag}"
    names = {store: f"shipyard_secret_{store}_{tag}" for store in STORES}
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'"))
            for name in names.values():
                conn.execute(sa.text(f'CREATE DATABASE "{name}" OWNER {role}'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI but unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable: {error}")
    host = sa.make_url(PG_ADMIN_URL).set(username=role, password=PASSWORD)
    urls = {store: host.set(database=name).render_as_string(hide_password=False)
            for store, name in names.items()}
    try:
        yield urls
    finally:
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def configure(root: Path) -> None:
    """Every store URL of the example from the environment; Optuna on PostgreSQL too."""
    config = root / "shipyard.yaml"
    text = config.read_text().replace("  dev:\n    lake: lake\n", ENV_YAML)
    text = text.replace("      trials: 2\n", "      trials: 2\n      storage: ${SY_OPTUNA}\n")
    assert "${SY_OPTUNA}" in text and "${SY_METADATA_DB}" in text
    config.write_text(text)


class Outputs:
    """Everything the commands printed, by label, to be searched at the end."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def add(self, label: str, done: subprocess.CompletedProcess[str]) -> str:
        self.texts[label] = f"{done.stdout}\n{done.stderr}"
        return self.texts[label]


def leaks(texts: dict[str, str]) -> dict[str, str]:
    """Where the password is (also when a console wrapped it): label → text around it."""
    found = {}
    for label, text in texts.items():
        flat = re.sub(r"\s+", "", text)
        for where in (text, flat):
            at = where.find(PASSWORD)
            if at >= 0:
                found[label] = where[max(at - 300, 0):at + len(PASSWORD) + 100]
                break
    return found


def database_dumps(urls: dict[str, str]) -> dict[str, str]:
    """``pg_dump`` of every store: tables, rows, MLflow params and tags, Optuna studies."""
    dumps = {}
    for store, url in urls.items():
        parsed = sa.make_url(url)
        done = subprocess.run(
            ["pg_dump", "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432),
             "-U", "postgres", "--no-password", parsed.database or ""],
            capture_output=True, text=True, check=True, timeout=300)
        dumps[f"pg_dump {store}"] = done.stdout
    return dumps


def file_texts(root: Path) -> dict[str, str]:
    """Every file of the project (lake, state, artifacts, reports, logs, snapshots)."""
    texts = {}
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.name.endswith((".tar.gz", ".tgz")):
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                data = b"".join(tar.extractfile(m).read() for m in tar.getmembers()
                                if m.isfile())
        elif path.suffix == ".gz":
            data = gzip.decompress(data)
        texts[str(path.relative_to(root))] = data.decode("latin-1")
    return texts


def serve_a_little(root: Path, env: dict[str, str]) -> str:
    """Start ``shipyard serve``, send a few requests (good, bad, unknown), stop; its output."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = root.parent / "serve.log"
    process = start("-v", "serve", "--port", str(port), cwd=root,
                    env={**os.environ, **env, "SHIPYARD_API_KEYS": KEY}, output=log)
    try:
        deadline = time.monotonic() + 120
        while not _ready(base):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "not ready within 120 s:\n" + log.read_text()
            time.sleep(0.2)
        url = f"{base}/v1/models/titanic/predict"
        assert httpx.post(url, json={"rows": [ROW]}, headers=AUTH).status_code == 200
        assert httpx.post(url, json={"rows": [{"age": "x"}]},
                          headers=AUTH).status_code == 422
        httpx.get(f"{base}/v1/recommendations/C00042", headers=AUTH)
        httpx.get(f"{base}/metrics", headers=AUTH)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return log.read_text()


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready", headers=AUTH, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_planted_password_is_nowhere_shipyard_writes(tmp_path: Path,
                                                       databases: dict[str, str]) -> None:
    root = tmp_path / "titanic"
    run("example", "titanic", str(root), cwd=tmp_path)
    small(root, trials=2)
    add_webhook(root)  # reads TITANIC_WEBHOOK_URL, which carries the password
    configure(root)
    outputs = Outputs()
    with Receiver() as receiver:
        env = {"TITANIC_SOURCE_URL": databases["source"],
               "SY_METADATA_DB": databases["metadata"], "SY_RESULTS_DB": databases["results"],
               "SY_TRACKING_URI": databases["mlflow"], "SY_OPTUNA": databases["optuna"],
               "TITANIC_WEBHOOK_URL": f"{receiver.url}/hook?token={PASSWORD}"}
        outputs.texts["source.py"] = python("source.py", "--url", databases["source"],
                                            cwd=root).stdout

        def shipyard(label: str, *args: str, check: int | None = 0,
                     extra: dict[str, str] | None = None) -> str:
            return outputs.add(label, run(*args, cwd=root, env={**env, **(extra or {})},
                                          check=check))

        shipyard("ingest", "-v", "ingest")
        shipyard("train", "-v", "run", "train")
        failed = shipyard("failing train", "run", "train", "--no-cache", "--params",
                          "test_size=2.5", check=1)
        assert "failed in run" in failed
        shipyard("runs ls", "runs", "ls")
        shipyard("runs show", "runs", "show", "latest")
        shipyard("models ls", "models", "ls")
        shipyard("promote", "models", "promote", "titanic", "1", "--reason", "first")
        shipyard("challenger", "run", "train", "--no-cache", "--params", "seed=7", check=None)
        shipyard("compare", "models", "compare", "titanic")
        shipyard("models show", "models", "show", "titanic")
        (root / "rows.csv").write_text("pclass,sex,age,sibsp,parch\n1st,female,29,0,0\n")
        shipyard("predict", "predict", "titanic", "--input", "rows.csv", "--output",
                 "scored.csv")
        outputs.texts["serve"] = serve_a_little(root, env)
        source = sa.create_engine(databases["source"])
        with source.begin() as conn:  # a value validation refuses: a quarantined batch
            conn.execute(sa.text("UPDATE passengers SET pclass = '9th' WHERE passenger_id = 1"))
        source.dispose()
        rejected = shipyard("rejected ingest", "ingest", check=3)
        batch = re.search(r"batch (\d+)", rejected)
        assert batch, rejected
        shipyard("quarantine ls", "quarantine", "ls")
        shipyard("quarantine show", "quarantine", "show", batch[1])
        down = f"postgresql+psycopg://someone:{PASSWORD}@127.0.0.1:{free_port()}/mlflow"  # closed
        unreachable = shipyard("unreachable tracking store", "run", "train", "--no-cache",
                               check=1, extra={"SY_TRACKING_URI": down})
        bodies = {f"webhook body {i}": r.body.decode() for i, r in
                  enumerate(receiver.requests)}
    assert any("run_failed" in body for body in bodies.values()), bodies

    searched = {**outputs.texts, **bodies, **database_dumps(databases), **file_texts(root)}
    assert "tracking_uri" in searched["pg_dump metadata"]  # the records were searched
    found = leaks(searched)
    assert not found, f"the password is in: {sorted(found)}\n{found}"
    assert "tracking store: cannot reach postgresql+psycopg://someone:***@127.0.0.1" in " ".join(
        unreachable.split()), unreachable
