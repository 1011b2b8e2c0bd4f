"""The Service as HAProxy: one port balancing across the replicas, the readiness probe deciding
who gets traffic.

The readiness probe of a Shipyard Deployment is an exec of ``shipyard-probe /ready`` (the key
is inside the container, so an ``httpGet`` could not send it). HAProxy cannot exec inside a
process, so it runs what that script does: an HTTP GET of the same path with the first API key
(without its ``:role``), every ``periodSeconds``, failing after ``failureThreshold`` misses and
passing after ``successThreshold`` answers, within ``timeoutSeconds``. An ``httpGet`` probe is
checked as written.

The backend has a slot per possible replica (the HPA's maximum plus the surge), each in
maintenance until a replica is put in it; slots are driven through HAProxy's runtime socket,
as the endpoints controller drives a Service: a replica's slot is enabled when it starts (its
checks then decide when it is UP), set to ``drain`` when it is to stop (no new requests, those
in flight finish) and back to maintenance when it has stopped. ``retry-on conn-failure
empty-response`` with ``option redispatch`` sends a request that found a dead replica to
another one, as a client retrying through a Service would.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from shipyard.deploy.rehearse.manifests import Probe
from shipyard.errors import ConfigError

__all__ = ["Balancer", "health_check"]

BACKEND = "replicas"


@dataclass(frozen=True)
class HealthCheck:
    """The HTTP check HAProxy runs for a readiness probe, and what it stands for."""

    path: str
    key: str | None
    said: str


def health_check(probe: Probe, image_files: dict[str, Path], key: str) -> HealthCheck:
    """The readiness probe as an HTTP check (an exec of the image's probe script: its GET,
    with ``key``, the first API key as that script sends it)."""
    timing = (f"every {probe.period_s} s, down after {probe.failure_threshold}, up after "
              f"{probe.success_threshold}, timeout {probe.timeout_s} s")
    if probe.http_path:
        return HealthCheck(probe.http_path, None, f"httpGet {probe.http_path} {timing}")
    command = probe.exec or []
    if any(word in image_files and "probe" in word for word in command):
        path = command[-1]
        return HealthCheck(path, key or None, f"exec {' '.join(command)} run as HAProxy's HTTP check "
                                      f"GET {path} with the first API key, {timing}")
    raise ConfigError(f"the readiness probe {command or probe} is neither an httpGet nor the "
                      f"image's shipyard-probe: the rehearsal cannot run it")


class Balancer:
    """HAProxy in front of ``slots`` server slots, on ``port``; its files in ``folder``."""

    def __init__(self, folder: Path, port: int, slots: int, check: HealthCheck,
                 probe: Probe) -> None:
        binary = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
        if binary is None:
            raise ConfigError("haproxy is not installed: 'make haproxy' (Debian's package) "
                              "installs it")
        self.binary = binary
        self.folder = folder
        self.port = port
        self.slots = slots
        self.socket = folder / "haproxy.sock"
        self.config = folder / "haproxy.cfg"
        self.config.write_text(self._config(check, probe))
        self.config.chmod(0o600)  # it holds the key the checks send
        self.process: subprocess.Popen[bytes] | None = None

    def _config(self, check: HealthCheck, probe: Probe) -> str:
        header = f' hdr Authorization "Bearer {check.key}"' if check.key else ""
        servers = "\n".join(f"    server r{n} 127.0.0.1:9 check disabled"
                            for n in range(1, self.slots + 1))
        return f"""# {check.said}
global
    stats socket {self.socket} mode 600 level admin
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout check {probe.timeout_s}s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend service
    bind 127.0.0.1:{self.port}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    option httpchk
    http-check send meth GET uri {check.path}{header}
    http-check expect status 200
    default-server inter {probe.period_s}s fall {probe.failure_threshold} rise {probe.success_threshold}
{servers}
"""

    def start(self) -> None:
        """Start HAProxy and wait until its runtime socket answers."""
        check = subprocess.run([self.binary, "-c", "-q", "-f", str(self.config)],
                               capture_output=True, text=True, check=False)
        if check.returncode:
            raise ConfigError(f"HAProxy refuses {self.config}: {check.stderr.strip()}")
        self.process = subprocess.Popen([self.binary, "-db", "-f", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise ConfigError(f"HAProxy stopped at start: {error.strip()}")
            try:
                self.command("show info")
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def command(self, line: str) -> str:
        """One command on the runtime socket; its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(10)
            conn.connect(str(self.socket))
            conn.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def enable(self, slot: int, port: int) -> None:
        """Point ``slot`` at a replica's port and let its checks decide when it is UP.

        A server leaving maintenance is UP until its first failed check; a pod starts not
        Ready. So it is marked down in the same runtime command that enables it (one command
        line, run as one: no request reaches it in between)."""
        name = f"{BACKEND}/r{slot}"
        self._ok(self.command(f"set server {name} addr 127.0.0.1 port {port}"), name)
        self._ok(self.command(f"set server {name} state ready; set server {name} health down"),
                 name)

    def drain(self, slot: int) -> None:
        """No new requests to ``slot``; those in flight finish (the endpoint removed)."""
        self._ok(self.command(f"set server {BACKEND}/r{slot} state drain"), f"r{slot}")

    def disable(self, slot: int) -> None:
        """``slot`` back to maintenance: no traffic, no checks."""
        self._ok(self.command(f"set server {BACKEND}/r{slot} state maint"), f"r{slot}")

    def states(self) -> dict[int, tuple[str, int]]:
        """Each slot's status (UP, DOWN, MAINT, DRAIN, ...) and its current sessions."""
        lines = self.command("show stat").splitlines()
        if not lines:
            return {}
        header = lines[0].lstrip("# ").split(",")
        found = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == BACKEND and row.get("svname", "").startswith("r"):
                found[int(row["svname"][1:])] = (row["status"], int(row["scur"] or 0))
        return found

    @staticmethod
    def _ok(answer: str, name: str) -> None:
        text = answer.strip()
        if text and "changed" not in text and "no need to change" not in text:
            raise ConfigError(f"HAProxy refused a change of {name}: {text}")
