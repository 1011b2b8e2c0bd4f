"""The generated image, really built and really run: ``make image-test`` (CI runs it after the
suite; ``make test`` skips it, as it takes minutes and root).

There is no Docker daemon and no image registry here, so the test makes both ends itself:
a Debian bookworm base with Python 3.11 from Debian's archive (``debootstrap``, through the
mirror this machine's apt uses), imported as an image with Buildah, and Buildah builds the
Titanic example's generated ``deploy/Dockerfile`` on it (``--isolation chroot``,
``--storage-driver vfs``: no daemon, no kernel overlay). pip inside the build reaches no
index: the pinned dependencies are made into wheels on the host (where pip's index settings
live) and mounted into the build, as ``PIP_OPTIONS="--no-index --find-links /wheels"``, the
Dockerfile's argument for builds without an index.

Two images are built from the one Dockerfile: the full one (``requirements.lock``: every
command) and the serve-only one (``--build-arg REQUIREMENTS=requirements-serve.lock``: what
``shipyard serve`` needs), and each goes through all of what follows.

The image holds no data: the trained project's stores (``.shipyard/`` and the lake) are left
out by ``.dockerignore`` and mounted at run time, as a volume or a store URL would be given to
a real container. Then the image's own entrypoint is started (``buildah run``, host network),
``shipyard deploy smoke`` runs against it, the server's UID is checked to be the image's
non-root one, and SIGTERM stops it with its prediction log flushed into the mounted lake;
then it is started again until :data:`STARTS` cold starts to ``/ready`` are timed.

The base (~3 minutes) and the wheels (~1 minute) are cached in ~/.cache/shipyard-image
(SHIPYARD_IMAGE_CACHE) between runs; a fresh machine builds them. Each image's size, build
time and cold start are printed and written to benchmarks/results/image.json.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from deltalake import DeltaTable

from shipyard.config import load_config
from tests.e2e.cli import run
from tests.e2e.examples import TITANIC_SMOKE_PASSED, ExampleProjects, relocate
from tests.e2e.server import PATIENCE_S, free_port, http, wait_for

pytestmark = pytest.mark.skipif(
    not os.environ.get("SHIPYARD_IMAGE_TEST"),
    reason="builds and runs the container image for minutes: run with make image-test")

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("SHIPYARD_IMAGE_CACHE", "~/.cache/shipyard-image")).expanduser()
BASE = "localhost/shipyard-base:bookworm-slim"
IMAGE = "localhost/shipyard-titanic:image-test"
SERVE_IMAGE = "localhost/shipyard-titanic-serve:image-test"
STARTS = 3  # cold starts measured per image (the smoke test's included)
# python3-venv brings pip's wheel for the venv (ensurepip): Debian's own pip is not needed
PACKAGES = "python3,python3-venv,ca-certificates"
# what Debian's slim images (python:3.11-slim's base) leave out too: nothing in a server runs or
# reads them; of /usr/share/doc, the copyright files stay
SLIMMED = ("usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt/archives",
           "var/lib/apt/lists")
STEP_S = 1800  # bound of one build step: a cold debootstrap or build on a loaded machine


def buildah(*args: str) -> list[str]:
    return ["buildah", "--root", str(CACHE / "storage"), "--runroot", str(CACHE / "run"),
            "--storage-driver", "vfs", *args]


def sh(*command: str, cwd: Path | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=STEP_S,
                          check=False)
    assert done.returncode == 0, (f"{' '.join(command)} exited {done.returncode}\n"
                                  f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def debian_mirror() -> str:
    """The Debian archive this machine's apt uses (SHIPYARD_DEBIAN_MIRROR overrides it)."""
    if os.environ.get("SHIPYARD_DEBIAN_MIRROR"):
        return os.environ["SHIPYARD_DEBIAN_MIRROR"]
    sources = Path("/etc/apt")
    texts = [p.read_text() for p in [sources / "sources.list", *sorted(
        (sources / "sources.list.d").glob("*"))] if p.is_file() and p.suffix in (
            ".list", ".sources")]
    for text in texts:
        for stanza in re.split(r"\n\s*\n", text):  # deb822: URIs and Suites per stanza
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.MULTILINE)
            suites = re.search(r"^Suites:(.*)$", stanza, re.MULTILINE)
            if uris and suites and "bookworm" in suites[1].split():
                return uris[1]
        found = re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", text, re.MULTILINE)
        if found:
            return found[1]
    raise AssertionError("no Debian bookworm archive in /etc/apt sources: set "
                         "SHIPYARD_DEBIAN_MIRROR to one")


@pytest.fixture(scope="module")
def cache_lock() -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def base_image(timings: dict[str, float | None]) -> None:
    """Debian bookworm with python3 and venv, without documentation or locales (as
    python:3.11-slim), as the image BASE (made once, cached)."""
    tar = CACHE / "bookworm-python3-slim.tar"
    timings["debootstrap_s"] = timings["import_s"] = None  # cached
    started = time.monotonic()
    if not tar.exists():
        rootfs = CACHE / "rootfs.partial"
        shutil.rmtree(rootfs, ignore_errors=True)
        sh("debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm",
           str(rootfs), debian_mirror())
        for folder in SLIMMED:
            for path in (rootfs / folder).glob("*"):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        for path in (rootfs / "usr/share/doc").rglob("*"):
            if path.name != "copyright" and (path.is_file() or path.is_symlink()):
                path.unlink()
        sh("tar", "-C", str(rootfs), "-cf", f"{tar}.partial", ".")
        os.replace(f"{tar}.partial", tar)
        shutil.rmtree(rootfs)
        timings["debootstrap_s"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    known = subprocess.run(buildah("inspect", "--type", "image", BASE), capture_output=True,
                           check=False)
    if known.returncode != 0:
        container = sh(*buildah("from", "scratch")).strip()
        sh(*buildah("add", container, str(tar), "/"))
        sh(*buildah("config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                    "/usr/bin:/sbin:/bin", "--env", "LANG=C.UTF-8", "--cmd", "/usr/bin/python3",
                    container))
        sh(*buildah("commit", "-q", "--rm", container, BASE))
        timings["import_s"] = round(time.monotonic() - started, 1)


def wheels(lock: Path, timings: dict[str, float | None]) -> Path:
    """The pinned dependencies as wheels, on the host: offline from the cache when it has them
    all, else through the host's pip settings (index, certificates)."""
    folder = CACHE / "wheels"
    folder.mkdir(exist_ok=True)
    started = time.monotonic()
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "-r", str(lock), "-w", str(folder)]
    offline = subprocess.run([*pip, "--no-index", "--find-links", str(folder)],
                             capture_output=True, text=True, timeout=STEP_S, check=False)
    if offline.returncode != 0:
        sh(*pip)
    timings["wheels_s"] = round(time.monotonic() - started, 1)
    return folder


def store_for_container(project: Path, uid: int) -> Path:
    """The project's stores as the container sees them: its paths rewritten to /app (they
    record absolute paths), owned by the image's user."""
    store = project.parent / "store"
    store.mkdir()
    for name in (".shipyard", "lake"):
        shutil.copytree(project / name, store / name, symlinks=True)
    relocate(store, str(project), "/app")
    sh("chown", "-R", f"{uid}:{uid}", str(store))
    return store


def rootfs_bytes(container: str) -> int:
    """The image's size as a container's root filesystem, uncompressed (what ``docker images``
    shows)."""
    mounted = sh(*buildah("mount", container)).strip()
    try:
        return int(sh("du", "-sb", mounted).split()[0])
    finally:
        sh(*buildah("umount", container))


def process_uid(port: int) -> tuple[int, str]:
    """Real UID and command line of the process serving on ``port``."""
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().decode().split("\0")
            status = (proc / "status").read_text()
        except (OSError, ValueError):
            continue
        if "serve" in argv and str(port) in argv and not argv[0].endswith("buildah"):
            found = re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE)
            assert found, status
            return int(found[1]), proc.name
    raise AssertionError(f"no process serving on port {port}")


def build(project: Path, image: str, *args: str) -> tuple[float, dict]:
    """``buildah bud`` of the project's deploy/Dockerfile as ``image`` (the base and the wheels
    ready): its build seconds and its OCI config."""
    started = time.monotonic()
    sh(*buildah("bud", "--isolation", "chroot", "--network", "host", "--pull-never",
                "--format", "docker", "-f", "deploy/Dockerfile", "--build-arg", f"BASE={BASE}",
                "--build-arg", "PIP_OPTIONS=--no-index --find-links /wheels",
                "--volume", f"{CACHE / 'wheels'}:/wheels:ro", *args, "-t", image, "."),
       cwd=project)
    build_s = round(time.monotonic() - started, 1)
    return build_s, json.loads(sh(*buildah("inspect", "--type", "image", image)))["OCIv1"][
        "config"]


class Started:
    """The image's own entrypoint run with ``buildah run`` (host network), the project's
    stores mounted where the image expects them, until /ready answers 200."""

    def __init__(self, container: str, config: dict, store: Path) -> None:
        self.port, self.key = free_port(), "image-test-" + secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        started = time.monotonic()
        self.process = subprocess.Popen(
            buildah("run", "--isolation", "chroot", "--network", "host",
                    "-e", f"SHIPYARD_API_KEYS={self.key}", "-e", f"SHIPYARD_PORT={self.port}",
                    "-v", f"{store / '.shipyard'}:/app/.shipyard",
                    "-v", f"{store / 'lake'}:/app/lake",
                    container, "--", *config["Entrypoint"], *config["Cmd"]),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(self._ready, "the image's server ready")
        except BaseException:
            self.kill()
            raise
        self.ready_s = round(time.monotonic() - started, 2)
        """Seconds from ``buildah run`` to the first 200 of /ready: its cold start."""

    def _ready(self) -> bool:
        assert self.process.poll() is None, self.process.communicate()[0]
        try:
            return http.get(f"{self.base}/ready", headers={
                "Authorization": f"Bearer {self.key}"}).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> str:
        """SIGTERM to the server (not to buildah), as Kubernetes stops a pod; its output."""
        pid = process_uid(self.port)[1]
        os.kill(int(pid), signal.SIGTERM)
        output = self.process.communicate(timeout=PATIENCE_S)[0]
        assert self.process.returncode == 0, output
        return output

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def smoke_test(project: Path, container: str, config: dict, store: Path, uid: int) -> float:
    """Start the image, run ``shipyard deploy smoke`` against it, check it serves as the
    image's non-root user and drains on SIGTERM; returns its cold start to /ready."""
    server = Started(container, config, store)
    try:
        smoke = run("deploy", "smoke", server.base, cwd=project,
                    env={"SHIPYARD_API_KEY": server.key})
        assert "titanic v1" in smoke.stdout and TITANIC_SMOKE_PASSED in smoke.stdout
        server_uid, _ = process_uid(server.port)
        assert server_uid == uid, f"the server runs as UID {server_uid}, not {uid}"
        server.stop()
    finally:
        server.kill()
    return server.ready_s


def cold_starts(container: str, config: dict, store: Path, first: float) -> dict[str, Any]:
    """Median seconds from start to /ready over :data:`STARTS` starts (``first`` included),
    with the load average the machine had."""
    times = [first]
    load = [os.getloadavg()[0]]
    for _ in range(STARTS - 1):
        load.append(os.getloadavg()[0])
        server = Started(container, config, store)
        try:
            times.append(server.ready_s)
            server.stop()
        finally:
            server.kill()
    return {"cold_start_to_ready_s": statistics.median(times), "cold_starts_s": times,
            "load_average_1min": [round(x, 2) for x in load]}


def test_generated_images_build_run_as_non_root_and_pass_the_smoke_test(
        tmp_path: Path, example_projects: ExampleProjects, cache_lock: None) -> None:
    """The full image (every command) and the serve-only one (``REQUIREMENTS=
    requirements-serve.lock``) each pass the smoke test; the serve image is the smaller."""
    timings: dict[str, float | None] = {}
    project = example_projects.copy("titanic-trained", tmp_path / "titanic")
    # Shipyard as tested here, as a wheel in deploy/wheels/ with its SHA-256 (the only way the
    # Dockerfile installs it)
    run("deploy", "build", "--wheel", cwd=project)
    uid = load_config(project).deploy.uid
    base_image(timings)
    wheels(project / "deploy" / "requirements.lock", timings)  # the serve lock's are among them
    store = store_for_container(project, uid)
    images: dict[str, dict[str, Any]] = {}
    for kind, (image, args) in {
            "full": (IMAGE, ()),
            "serve": (SERVE_IMAGE, ("--build-arg", "REQUIREMENTS=requirements-serve.lock"))
    }.items():
        build_s, config = build(project, image, *args)
        assert config["User"].split(":")[0] == str(uid), config
        assert not any(e.startswith("SHIPYARD_API_KEYS") for e in config.get("Env", [])), config
        container = sh(*buildah("from", "--pull-never", "--name",
                                f"shipyard-image-test-{secrets.token_hex(4)}", image)).strip()
        try:
            size = rootfs_bytes(container)
            # No data and no store in any layer: .dockerignore left them out.
            leaked = sh(*buildah("run", "--isolation", "chroot", container, "--", "find", "/app",
                                 "/opt", "(", "-name", "*.db", "-o", "-name", "mlruns", "-o",
                                 "-name", "mlartifacts", "-o", "-name", "_delta_log", ")"))
            assert leaked.strip() == "", leaked
            assert sh(*buildah("run", "--isolation", "chroot", container, "--", "find",
                               "/app/.shipyard", "/app/lake", "-mindepth", "1")).strip() == ""
            first = smoke_test(project, container, config, store, uid)
            images[kind] = {"size_bytes": size, "size_mb": round(size / 1e6), "build_s": build_s,
                            **cold_starts(container, config, store, first)}
        finally:
            subprocess.run(buildah("rm", container), capture_output=True, check=False)
            subprocess.run(buildah("rmi", image), capture_output=True, check=False)
    # every server flushed its prediction log into the mounted lake on SIGTERM
    logged = DeltaTable(str(store / "lake" / "monitoring" / "predictions" / "titanic"))
    assert logged.to_pyarrow_table(columns=["request_id"]).num_rows >= len(images)
    full, serve = images["full"], images["serve"]
    assert serve["size_bytes"] < full["size_bytes"]

    base_size = (CACHE / "bookworm-python3-slim.tar").stat().st_size
    version = sh("buildah", "--version").strip()
    result = {"image": "titanic example, deploy/Dockerfile as generated",
              "builder": f"{version}, --isolation chroot, --storage-driver vfs",
              "base": "Debian bookworm minbase + python3 3.11, python3-venv (debootstrap), "
                      "without docs (but copyright), man, info, locale",
              "base_size_mb": round(base_size / 1e6),
              # the full image's figures at the top level, as before the serve image existed
              "size_bytes": full["size_bytes"], "size_mb": full["size_mb"],
              "added_by_dockerfile_mb": round((full["size_bytes"] - base_size) / 1e6),
              "build_s": full["build_s"], **timings,
              "full": full, "serve": {**serve, "build_arg": "REQUIREMENTS=requirements-serve.lock"},
              "cores": os.cpu_count(), "measured": datetime.now(UTC).isoformat(timespec="seconds"),
              "notes": "size: the image's root filesystem, uncompressed (du -sb of the mounted "
                       "container); build_s: buildah bud of deploy/Dockerfile, the base image "
                       "and the dependency wheels ready; debootstrap_s, import_s (the base into "
                       "Buildah's storage), wheels_s: making those this run, null when cached; "
                       "cold_start_to_ready_s: median over the starts of buildah run of the "
                       "image's entrypoint (the Titanic model, its stores mounted) to the first "
                       "200 of /ready, polled every 0.1 s; the machine is shared (load average "
                       "at each start), so times vary with its load"}
    out = REPO / "benchmarks" / "results" / "image.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for kind, figures in images.items():
        sys.stdout.write(f"\n{kind} image {figures['size_mb']} MB, built in "
                         f"{figures['build_s']} s, ready in {figures['cold_start_to_ready_s']} s "
                         f"(median of {STARTS})")
    sys.stdout.write(f"\n{out.relative_to(REPO)}\n")
