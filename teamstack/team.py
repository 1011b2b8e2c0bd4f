"""The team stack: every store Shipyard uses at team scale, as a server on this machine.

At team scale a Shipyard process keeps nothing in its working directory
(docs/operations/team-stack.md), so the team-scale tests and `make demo-team` need the real
servers, started by the project's own files on a fresh machine, each on 127.0.0.1 and a free
port, each a process group of its own with its own log:

- S3: moto's standalone server (no MinIO is packaged here), with a bucket;
- Azure Blob: Azurite, Microsoft's emulator (npm, installed into .stack/ by `make team-deps`),
  with a container in its well-known account ``devstoreaccount1``;
- MLflow: `mlflow server` on a fresh PostgreSQL database, artifacts proxied through the server
  (``mlflow-artifacts:``) to the S3 bucket (or a folder of the stack);
- Dask: a scheduler and two workers, each a separate process;
- PostgreSQL is the machine's own server: the stack only creates fresh databases on it (one
  for MLflow, one for Shipyard's metadata and results) and drops them when it stops.

The environment a Shipyard process needs to reach them is written to ``DIR/team.env``::

    python teamstack/team.py up DIR      # starts everything, prints where the logs are
    set -a; . DIR/team.env; set +a       # exports it to the shell (plain KEY=VALUE lines)
    python teamstack/team.py down DIR    # stops everything, drops the databases

The pytest fixtures (tests/e2e/team/conftest.py) use :class:`TeamStack` directly.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import email.utils
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

REPO = Path(__file__).resolve().parent.parent
# `make team-deps` installs the npm tools here (teamstack/package.json pins them).
NODE_BIN = REPO / ".stack" / "node_modules" / ".bin"
# The venv's console scripts (moto_server, mlflow, dask) sit beside its interpreter.
VENV_BIN = Path(sys.executable).parent

PG_ADMIN_URL = os.environ.get(
    "SHIPYARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
HOST = "127.0.0.1"
BUCKET = "shipyard"            # the S3 bucket on moto
CONTAINER = "shipyard"         # the blob container on Azurite
# Azurite's one built-in account and its published key (the same on every Azurite: not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# moto accepts any credentials; these are its documented test values.
AWS_TEST_CREDENTIAL = "testing"
AWS_REGION = "us-east-1"
DASK_WORKERS = 2

# Seconds to wait for each server to answer. MLflow runs its migrations on an empty database
# first: 8 s on a quiet 2-core machine, up to 26 s seen under load.
TIMEOUTS_S = {"s3": 30.0, "azure": 30.0, "mlflow": 180.0, "dask-scheduler": 30.0, "dask-worker": 60.0}
STOP_GRACE_S = 10.0           # after SIGTERM, before SIGKILL
PORT_ATTEMPTS = 3             # a free port can be taken between choosing and binding it
STATE_FILE = "stack.json"
SHELL_SAFE = re.compile(r"[A-Za-z0-9_.,:/@+=%-]*")
ENV_FILE = "team.env"


class StackError(RuntimeError):
    """A server of the stack did not start: names it and quotes the end of its log."""

    def __init__(self, server: str, reason: str, log: Path | None = None) -> None:
        self.server = server
        self.reason = reason
        self.log = log
        self.log_tail = ""
        message = f"{server}: {reason}"
        if log is not None:
            self.log_tail = log_tail(log)
            message += f" (log: {log})"
            if self.log_tail:
                message += f"\n--- last lines of {log.name} ---\n{self.log_tail}"
        super().__init__(message)


def log_tail(log: Path, lines: int = 30) -> str:
    """The last lines of a server's log: what a failure report needs to be diagnosed from CI."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def free_port() -> int:
    """A port no one listens on now (the kernel's choice for port 0), so parallel stacks never clash."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One server process (a process group of its own: the mlflow CLI and its uvicorn child,
    a Dask nanny and its worker all stop together)."""

    name: str
    argv_for: Callable[[int], list[str]]  # argv for a given port
    env: dict[str, str]
    cwd: Path
    log: Path
    ready: Callable[[Server], bool]       # polled until true: the server answers
    timeout_s: float
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    start_s: float = 0.0                  # from launch to answering, in seconds
    launched_at: float = 0.0
    attempts: int = 0
    log_offset: int = 0                   # where this attempt's output starts in the log

    @property
    def pgid(self) -> int:
        assert self.proc is not None
        return self.proc.pid  # start_new_session: the leader's pid is the group's id

    def launch(self) -> None:
        """Start the process on a fresh free port; its output goes to its log (appended on a retry)."""
        self.port = free_port()
        self.attempts += 1
        self.cwd.mkdir(parents=True, exist_ok=True)
        argv = self.argv_for(self.port)
        with self.log.open("ab") as out:
            self.log_offset = out.tell()
            out.write(f"$ {' '.join(argv)}\n".encode())
            out.flush()
            self.launched_at = time.monotonic()
            self.proc = subprocess.Popen(argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def poll(self) -> bool:
        """One look at a starting server: True once it answers.

        A process that exited because its port was taken meanwhile is started again on another
        port (PORT_ATTEMPTS in all); any other exit, or no answer within its timeout, is a
        StackError with its log's tail.
        """
        assert self.proc is not None
        if self.proc.poll() is not None:
            if self._port_clash() and self.attempts < PORT_ATTEMPTS:
                self.launch()
                return False
            raise StackError(self.name, f"exited with code {self.proc.returncode} while starting",
                             self.log)
        try:
            answered = self.ready(self)
        except OSError:  # not listening yet (connection refused, reset, timed out)
            answered = False
        # A foreign server on a port taken meanwhile answers too: ours must still be alive.
        if answered and self.proc.poll() is None:
            self.start_s = time.monotonic() - self.launched_at
            return True
        if time.monotonic() > self.launched_at + self.timeout_s:
            raise StackError(self.name, f"did not answer within {self.timeout_s:.0f} s", self.log)
        return False

    def rss_mb(self) -> float:
        """Resident memory of the whole process group, in MB."""
        return sum(_rss_kb(pid) for pid in group_members(self.pgid)) / 1024

    def _port_clash(self) -> bool:
        """Did this attempt exit because its port was taken (Python's and node's wording)?"""
        with self.log.open("rb") as log:
            log.seek(self.log_offset)
            output = log.read().decode(errors="replace").lower()
        return "address already in use" in output or "eaddrinuse" in output


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group.

    Read from /proc rather than asked with ``killpg(pgid, 0)``: a zombie answers that too, and
    where PID 1 does not reap orphans (containers) a stopped server would seem alive forever.
    """
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def listening_addresses(pgid: int) -> list[tuple[str, int]]:
    """The TCP (host, port) pairs a process group listens on, from /proc/net: the test of
    'everything on 127.0.0.1' (Dask, for one, binds 0.0.0.0 unless told otherwise)."""
    inodes: set[str] = set()
    for pid in group_members(pgid):
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    found = []
    for table, width in (("tcp", 4), ("tcp6", 16)):
        try:
            rows = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] != "0A" or cols[9] not in inodes:  # 0A: LISTEN
                continue
            addr_hex, port_hex = cols[1].split(":")
            raw = bytes.fromhex(addr_hex)
            # the kernel prints each 32-bit word in host (little-endian) order
            addr = b"".join(raw[i:i + 4][::-1] for i in range(0, width, 4))
            family = socket.AF_INET if width == 4 else socket.AF_INET6
            found.append((socket.inet_ntop(family, addr), int(port_hex, 16)))
    return sorted(set(found))


def stop_groups(pgids: list[int], procs: list[subprocess.Popen[bytes]] | None = None,
                grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM every group, wait for them to exit, SIGKILL what is left after ``grace_s``.

    All groups at once: Dask's nannies and uvicorn take a second each to close gracefully.
    ``procs`` are this process's own children, reaped as they exit.
    """
    def alive() -> list[int]:
        for proc in procs or []:
            proc.poll()
        return [pgid for pgid in pgids if group_members(pgid)]

    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        for pgid in alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, sig)
        deadline = time.monotonic() + wait_s
        while alive() and time.monotonic() < deadline:
            time.sleep(0.05)  # poll interval
        if not alive():
            return


# --- PostgreSQL -------------------------------------------------------------------------------

def pg_url(name: str, admin_url: str = PG_ADMIN_URL) -> str:
    """The URL of database ``name`` on the admin URL's server (same role, host, driver)."""
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def create_database(prefix: str, admin_url: str = PG_ADMIN_URL) -> str:
    """Create a fresh, uniquely named database; return its name. StackError if the server is down."""
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        raise StackError("postgresql", f"cannot create a database at {admin_url}: {error}") from None
    finally:
        engine.dispose()
    return name


def drop_databases(names: list[str], admin_url: str = PG_ADMIN_URL) -> None:
    """Drop the stack's databases (connections are closed by force: the servers are gone)."""
    import sqlalchemy as sa

    if not names:
        return
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


# --- stores: the bucket and the container -----------------------------------------------------

def create_bucket(endpoint: str, bucket: str) -> None:
    """Create the S3 bucket on moto (idempotent)."""
    import boto3  # type: ignore[import-untyped]  # no stubs in the dev extras

    client = boto3.client("s3", endpoint_url=endpoint, region_name=AWS_REGION,
                          aws_access_key_id=AWS_TEST_CREDENTIAL,
                          aws_secret_access_key=AWS_TEST_CREDENTIAL)
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)


def create_container(blob_url: str, container: str) -> None:
    """Create a blob container on Azurite (idempotent): one REST call signed with the account's
    shared key, as the Azure SDKs do it, so the stack needs no Azure SDK (obstore and deltalake
    read and write blobs but cannot create containers)."""
    import httpx

    date = email.utils.formatdate(usegmt=True)
    version = "2021-08-06"
    # Verb, 11 standard headers (all empty here), the x-ms- headers, the canonical resource.
    to_sign = "\n".join(["PUT", *[""] * 11, f"x-ms-date:{date}", f"x-ms-version:{version}",
                         f"/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{container}", "restype:container"])
    digest = hmac.new(base64.b64decode(AZURITE_KEY), to_sign.encode(), hashlib.sha256).digest()
    response = httpx.put(
        f"{blob_url}/{AZURITE_ACCOUNT}/{container}", params={"restype": "container"},
        headers={"x-ms-date": date, "x-ms-version": version,
                 "Authorization": f"SharedKey {AZURITE_ACCOUNT}:{base64.b64encode(digest).decode()}"},
        timeout=10)
    if response.status_code not in (201, 409):  # 409: ContainerAlreadyExists
        raise RuntimeError(f"creating container {container!r}: HTTP {response.status_code} {response.text}")


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """KEY=VALUE lines, unquoted: read as they are by a shell (`set -a; . FILE`), docker's
    --env-file, systemd and python-dotenv alike, so a value must need no quoting in any."""
    for key, value in env.items():
        if not SHELL_SAFE.fullmatch(value):
            raise ValueError(f"{key}={value!r} would need quoting in an env file")
    path.write_text("".join(f"{key}={value}\n" for key, value in env.items()))


def _http_status(url: str) -> int:
    """The status of a GET; a server not listening yet is an OSError, as a socket's would be."""
    import httpx

    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.TransportError as error:
        raise ConnectionError(f"{url}: {error}") from None


# --- the stack --------------------------------------------------------------------------------

@dataclass
class TeamStack:
    """The team stack in ``folder`` (logs, Azurite's and the workers' files, team.env, stack.json).

    ``mlflow_artifacts``: ``"s3"`` keeps MLflow's artifacts in the S3 bucket (as a team would,
    with the server's pod holding no data), ``"local"`` in ``folder/mlflow-artifacts``.
    """

    folder: Path
    mlflow_artifacts: Literal["s3", "local"] = "s3"
    pg_admin_url: str = PG_ADMIN_URL
    servers: dict[str, Server] = field(default_factory=dict)
    databases: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    started_s: float = 0.0
    _dask_client: Any = field(default=None, repr=False)  # asks the scheduler while workers start

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    def start(self) -> dict[str, str]:
        """Start every server, wait until each answers, write team.env; return that environment.

        The quick servers (moto, Azurite, the Dask scheduler) start side by side; MLflow (it
        needs the bucket) and the Dask workers (they get the stores' environment) start once
        they answer. On any failure everything started is stopped and StackError raised.
        """
        began = time.monotonic()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        try:
            azurite = self._azurite_binary()
            self.databases.append(create_database("shipyard_team_mlflow", self.pg_admin_url))
            self.databases.append(create_database("shipyard_team", self.pg_admin_url))
            self.databases.append(create_database("shipyard_team_erp", self.pg_admin_url))
            self._save_state()
            self._up([self._s3_server(), self._azure_server(azurite), self._scheduler_server()])
            self._up([self._mlflow_server(),
                      *(self._worker_server(i) for i in range(1, DASK_WORKERS + 1))])
        except BaseException:
            self.stop()
            raise
        finally:
            if self._dask_client is not None:
                self._dask_client.close()
                self._dask_client = None
        self.started_s = time.monotonic() - began
        self.env = self.environment()
        write_env_file(self.folder / ENV_FILE, self.env)
        self._save_state()
        return self.env

    def stop(self) -> None:
        """Stop every server (SIGTERM, then SIGKILL after a grace period), drop the databases."""
        servers = [s for s in self.servers.values() if s.proc is not None]
        stop_groups([s.pgid for s in servers], [s.proc for s in servers if s.proc is not None])
        drop_databases(self.databases, self.pg_admin_url)
        self.databases.clear()
        (self.folder / STATE_FILE).unlink(missing_ok=True)
        (self.folder / ENV_FILE).unlink(missing_ok=True)

    def __enter__(self) -> TeamStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the environment --

    def url(self, name: str) -> str:
        return f"http://{HOST}:{self.servers[name].port}"

    def store_env(self) -> dict[str, str]:
        """What deltalake, obstore (the Rust object_store crate's ``from_env``), boto3 and MLflow
        read to reach the S3 and Azure emulators; checked by tests/e2e/team/test_stack.py."""
        s3, blob = self.url("s3"), self.url("azure")
        return {
            "AWS_ENDPOINT_URL": s3,              # object_store and boto3 (>= 1.28) both read it
            "AWS_ALLOW_HTTP": "true",            # object_store refuses http:// without it
            "AWS_ACCESS_KEY_ID": AWS_TEST_CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": AWS_TEST_CREDENTIAL,
            "AWS_REGION": AWS_REGION,            # object_store
            "AWS_DEFAULT_REGION": AWS_REGION,    # boto3 (botocore reads only this one)
            "MLFLOW_S3_ENDPOINT_URL": s3,        # MLflow's S3 artifact store (an s3:// artifact root)
            "AZURE_STORAGE_USE_EMULATOR": "true",  # account devstoreaccount1, its well-known key
            "AZURITE_BLOB_STORAGE_URL": blob,    # else object_store assumes port 10000
            "AZURE_ALLOW_HTTP": "true",          # implied by the emulator flag; explicit for readers
        }

    def environment(self) -> dict[str, str]:
        """Everything a Shipyard process needs to reach the stack (written to team.env)."""
        return {
            **self.store_env(),
            "MLFLOW_TRACKING_URI": self.url("mlflow"),
            "DASK_SCHEDULER_ADDRESS": f"tcp://{HOST}:{self.servers['dask-scheduler'].port}",
            # the recommender example's `team` environment reads these (shipyard.yaml)
            "SHIPYARD_DB": pg_url(self.databases[1], self.pg_admin_url),
            "SHIPYARD_LAKE": f"s3://{BUCKET}/shop/lake",
            "SHIPYARD_STATE": f"s3://{BUCKET}/shop/state",
            "ERP_URL": pg_url(self.databases[2], self.pg_admin_url),  # `erp.py init --url`
        }

    # -- the servers --

    def _base_env(self) -> dict[str, str]:
        """This process's environment without any store settings (a sourced team.env of another
        stack must not leak into this one's servers), unbuffered so logs are current."""
        drop = ("AWS_", "AZURE_", "AZURITE_", "MLFLOW_", "DASK_", "SHIPYARD_", "ERP_URL")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        env["PYTHONUNBUFFERED"] = "1"
        env["MLFLOW_DISABLE_TELEMETRY"] = "true"  # the servers of a stack on one machine report nothing
        return env

    def _server(self, name: str, argv_for: Callable[[int], list[str]], ready: Callable[[Server], bool],
                env: dict[str, str] | None = None, timeout_key: str | None = None) -> Server:
        server = Server(name=name, argv_for=argv_for, env=env or self._base_env(),
                        cwd=self.folder / "run" / name, log=self.logs / f"{name}.log", ready=ready,
                        timeout_s=TIMEOUTS_S[timeout_key or name])
        self.servers[name] = server
        return server

    def _up(self, servers: list[Server]) -> None:
        """Launch the servers side by side and poll them all until each answers, so each one's
        start time is its own."""
        for server in servers:
            server.launch()
        self._save_state()
        pending = list(servers)
        while pending:
            pending = [server for server in pending if not server.poll()]
            if pending:
                time.sleep(0.1)  # poll interval
        self._save_state()

    def _s3_server(self) -> Server:
        def ready(server: Server) -> bool:
            # moto's own API: a foreign HTTP server on the port would not answer it
            if _http_status(f"http://{HOST}:{server.port}/moto-api/") != 200:
                return False
            try:
                create_bucket(f"http://{HOST}:{server.port}", BUCKET)
            except Exception as error:  # noqa: BLE001 - any failure here is the stack's
                raise StackError("s3", f"creating bucket {BUCKET!r}: {error}", server.log) from None
            return True

        return self._server("s3", lambda port: [str(VENV_BIN / "moto_server"), "-H", HOST,
                                                "-p", str(port)], ready)

    def _azurite_binary(self) -> Path:
        binary = Path(os.environ.get("SHIPYARD_AZURITE", NODE_BIN / "azurite-blob"))
        if not binary.exists():
            raise StackError("azure", f"Azurite is not installed ({binary} is missing): run "
                                      "`make team-deps` (npm install into .stack/)")
        return binary

    def _azure_server(self, binary: Path) -> Server:
        data = self.folder / "azurite"

        def ready(server: Server) -> bool:
            # any HTTP answer means it listens (403 for an unsigned request); then the container
            _http_status(f"http://{HOST}:{server.port}/{AZURITE_ACCOUNT}?comp=list")
            try:
                create_container(f"http://{HOST}:{server.port}", CONTAINER)
            except Exception as error:  # noqa: BLE001 - any failure here is the stack's
                raise StackError("azure", f"creating container {CONTAINER!r}: {error}",
                                 server.log) from None
            return True

        # --skipApiVersionCheck: object_store may speak a newer API version than this Azurite;
        # --loose: ignore the headers Azurite does not implement instead of failing the request
        return self._server("azure", lambda port: [
            str(binary), "--blobHost", HOST, "--blobPort", str(port), "--location", str(data),
            "--skipApiVersionCheck", "--loose"], ready)

    def _mlflow_server(self) -> Server:
        if self.mlflow_artifacts == "s3":
            destination = f"s3://{BUCKET}/mlflow-artifacts"
        else:
            destination = str(self.folder / "mlflow-artifacts")
        env = {**self._base_env(), **self.store_env(),
               # the job runner (MLflow 3's huey consumers) doubles the server's memory; unused
               "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        database = pg_url(self.databases[0], self.pg_admin_url)

        def ready(server: Server) -> bool:
            return _http_status(f"http://{HOST}:{server.port}/health") == 200

        return self._server("mlflow", lambda port: [
            str(VENV_BIN / "mlflow"), "server", "--backend-store-uri", database,
            "--serve-artifacts", "--artifacts-destination", destination,
            "--host", HOST, "--port", str(port), "--workers", "1"], ready, env=env)

    def _scheduler_server(self) -> Server:
        def ready(server: Server) -> bool:
            with socket.create_connection((HOST, server.port), timeout=1):
                return True

        # --dashboard-address: without it the scheduler's HTTP server binds 0.0.0.0:8787 even
        # with --no-dashboard, and a second stack's finds it taken
        return self._server("dask-scheduler", lambda port: [
            str(VENV_BIN / "dask"), "scheduler", "--host", HOST, "--port", str(port),
            "--no-dashboard", "--dashboard-address", f"{HOST}:0"], ready)

    def _worker_server(self, number: int) -> Server:
        """A worker with its nanny, holding the stores' environment: a step it runs reaches the
        lake and MLflow as any other Shipyard process does."""
        name = f"dask-worker-{number}"
        scheduler = f"tcp://{HOST}:{self.servers['dask-scheduler'].port}"
        env = {**self._base_env(), **self.store_env(), "MLFLOW_TRACKING_URI": self.url("mlflow")}

        def ready(server: Server) -> bool:
            if self._dask_client is None:
                from distributed import Client

                self._dask_client = Client(scheduler, timeout="10s")
            workers = self._dask_client.scheduler_info()["workers"].values()
            return name in {str(w.get("name")) for w in workers}

        # The port is unused (workers pick their own, on 127.0.0.1); --death-timeout: a worker
        # whose scheduler is gone exits rather than waiting forever.
        return self._server(name, lambda _port: [
            str(VENV_BIN / "dask"), "worker", scheduler, "--name", name, "--host", HOST,
            "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
            "--dashboard-address", f"{HOST}:0", "--local-directory", str(self.folder / "run" / name),
            "--death-timeout", "60"], ready, env=env, timeout_key="dask-worker")

    # -- state, for `down` from another process --

    def _save_state(self) -> None:
        state = {
            "pg_admin_url": self.pg_admin_url,
            "databases": self.databases,
            "servers": {s.name: {"pid": s.proc.pid, "port": s.port, "log": str(s.log),
                                 "start_s": round(s.start_s, 2)}
                        for s in self.servers.values() if s.proc is not None},
            "started_s": round(self.started_s, 2),
        }
        (self.folder / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")


def down(folder: Path) -> list[str]:
    """Stop the stack recorded in ``folder/stack.json`` (from any process); return what was stopped."""
    state_file = folder / STATE_FILE
    if not state_file.exists():
        return []
    state = json.loads(state_file.read_text())
    servers: dict[str, Any] = state.get("servers", {})
    stop_groups([int(s["pid"]) for s in servers.values()])
    drop_databases(state.get("databases", []), state.get("pg_admin_url", PG_ADMIN_URL))
    state_file.unlink()
    (folder / ENV_FILE).unlink(missing_ok=True)
    return list(servers)


# --- CLI --------------------------------------------------------------------------------------

def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _summary(stack: TeamStack) -> Iterator[str]:
    yield f"team stack up in {stack.folder} ({stack.started_s:.1f} s):"
    for server in stack.servers.values():
        address = (stack.env["DASK_SCHEDULER_ADDRESS"] if server.name == "dask-scheduler"
                   else "" if server.name.startswith("dask-worker") else stack.url(server.name))
        yield (f"  {server.name:<15} {address:<28} pid {server.pgid:<8} ready in "
               f"{server.start_s:5.1f} s  {server.rss_mb():5.0f} MB  log {server.log}")
    yield f"  {'postgresql':<15} {', '.join(stack.databases)}"
    yield ""
    yield f"Use it:   set -a; . {stack.folder / ENV_FILE}; set +a"
    yield f"Stop it:  {sys.executable} {Path(__file__).resolve()} down {stack.folder}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="start the stack in DIR and write DIR/team.env")
    up_parser.add_argument("dir", type=Path)
    up_parser.add_argument("--mlflow-artifacts", choices=["s3", "local"], default="s3",
                           help="where MLflow's server keeps artifacts (default: the S3 bucket)")
    down_parser = sub.add_parser("down", help="stop the stack in DIR, drop its databases")
    down_parser.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    folder: Path = args.dir.resolve()
    if args.command == "down":
        stopped = down(folder)
        _say(f"stopped {', '.join(stopped)}" if stopped else f"no team stack in {folder}")
        return 0
    state = folder / STATE_FILE
    if state.exists():
        _say(f"{state} exists: a stack may be up there; run `down {folder}` first")
        return 2
    stack = TeamStack(folder, mlflow_artifacts=args.mlflow_artifacts)
    try:
        stack.start()
    except StackError as error:
        _say(f"the team stack did not start: {error}")
        return 1
    for line in _summary(stack):
        _say(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
