"""What the benchmarks share, so each keeps only what it measures: starting and stopping the
servers under test, driving ``wrk`` over alternating rounds, medians with their spread, the
machine and its load, and writing ``benchmarks/results/*.json``.

Not a benchmark itself (``make bench`` does not run it); the benchmarks import it as
``harness`` (their own folder is first on ``sys.path`` when run as ``python benchmarks/X.py``).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

Samples = dict[str, dict[int, list[dict[str, float]]]]


def port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], *, cwd: Path | str, env: dict[str, str],
          log: Path) -> subprocess.Popen[bytes]:
    """A server process logging to ``log`` (a file: a full pipe would stall it)."""
    return subprocess.Popen(command, cwd=cwd, env={**os.environ, **env},
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)


def shipyard_serve(root: Path, on: int, key: str, log: Path) -> subprocess.Popen[bytes]:
    """``shipyard serve`` of the project in ``root`` on port ``on``, ``key`` its one API key."""
    return start([sys.executable, "-m", "shipyard", "serve", "--port", str(on)], cwd=root,
                 env={"SHIPYARD_API_KEYS": key}, log=log)


def stop(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """Terminate each; one still running 30 s later (MLServer drains slowly) is killed."""
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait(url: str, process: subprocess.Popen[bytes], headers: dict[str, str],
         bound_s: float = 300) -> None:
    """Until ``url`` answers 200; a server that exits or is not up in ``bound_s`` ends the run (on
    this shared machine, several servers starting at once under a load of 10 take minutes)."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server for {url} exited; see its log next to the project")
        try:
            if httpx.get(url, headers=headers, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} not up after {bound_s:g} s")


def check(name: str, response: httpx.Response) -> httpx.Response:
    """A request must succeed before anything is timed."""
    if response.status_code != 200:
        raise SystemExit(f"{name} answered {response.status_code}: {response.text}")
    return response


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: 'make bench' installs it (apt-get install wrk)")


def wrk_script(folder: Path, name: str, lines: list[str], headers: dict[str, str]) -> Path:
    """A wrk Lua script: ``headers`` on every request, then ``lines``."""
    lines = [*[f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()], *lines]
    path = folder / f"{name}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def _find(pattern: str, text: str) -> re.Match[str]:
    found = re.search(pattern, text, re.MULTILINE)
    if found is None:
        raise SystemExit(f"no {pattern!r} in wrk's output:\n{text}")
    return found


def _ms(text: str) -> float:
    value, unit = _find(r"^([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, script: Path, connections: int, seconds: float) -> dict[str, float]:
    """One ``wrk`` measurement: requests/s, p50 and p99 in ms, non-2xx and socket errors."""
    threads = min(connections, 2)
    done = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s",
                           "--latency", "-s", str(script), url],
                          capture_output=True, text=True, check=True)
    out = done.stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", out)
    return {"rps": float(_find(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": _ms(_find(r"^\s+50%\s+(\S+)", out).group(1)),
            "p99_ms": _ms(_find(r"^\s+99%\s+(\S+)", out).group(1)),
            "errors": (int(non2xx.group(1)) if non2xx else 0)
            + (sum(map(int, socket_errors.groups())) if socket_errors else 0)}


def rounds(runs: int, levels: Mapping[str, Sequence[int]],
           measure: Callable[[str, int], dict[str, float]], *, digits: int = 1,
           note: Callable[[dict[str, float]], str] = lambda figures: "") -> Samples:
    """``runs`` rounds; in each, every connection level, the servers measured back to back
    (alternating, so the neighbours' load falls on all alike). ``levels``: each server's."""
    samples: Samples = {n: {c: [] for c in cs} for n, cs in levels.items()}
    every = sorted({c for cs in levels.values() for c in cs})
    for i in range(runs):
        for connections in every:
            for name, cs in levels.items():
                if connections not in cs:
                    continue
                figures = measure(name, connections)
                samples[name][connections].append(figures)
                print(f"run {i + 1}/{runs} {name:8s} c{connections:<2d} "
                      f"{figures['rps']:8.1f} req/s  p50 {figures['p50_ms']:6.{digits}f} ms  "
                      f"p99 {figures['p99_ms']:6.{digits}f} ms  errors {figures['errors']}"
                      f"{note(figures)}", flush=True)
    return samples


def rotated(kinds: tuple[str, ...], i: int) -> tuple[str, ...]:
    """Round ``i``'s order: each kind goes first in turn."""
    k = i % len(kinds)
    return kinds[k:] + kinds[:k]


def medians(runs: list[dict[str, float]], keys: Sequence[str], digits: int) -> dict[str, float]:
    return {key: round(statistics.median(r[key] for r in runs), digits) for key in keys}


def spread(values: Sequence[float]) -> list[float]:
    """Lowest and highest round."""
    return [round(min(values), 3), round(max(values), 3)]


def ratio_spread(ours: Sequence[float], theirs: Sequence[float]) -> list[float]:
    """The widest a ratio of medians could be: our worst ÷ their best, our best ÷ their worst."""
    return [round(min(ours) / max(theirs), 3), round(max(ours) / min(theirs), 3)]


def load_average() -> list[float]:
    """The load of others' work on this shared machine (1, 5, 15 min)."""
    return [round(x, 2) for x in os.getloadavg()]


def now() -> str:
    """The time of a measurement, as the results files give it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def header(benchmark: str, load_at_start: list[float] | None = None) -> dict[str, Any]:
    """The first keys of every results file: what, when, and on what machine under what load
    (the 1-minute load at the end, or all three at start and end when the start was taken)."""
    machine: dict[str, Any] = {"python": platform.python_version(),
                               "cpus": len(os.sched_getaffinity(0))}
    if load_at_start is None:
        machine["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    else:
        machine |= {"load_average_at_start": load_at_start, "load_average_at_end": load_average()}
    return {"benchmark": benchmark,
            "created_at": now(), "machine": machine}


def update(result: dict[str, Any], out: Path, *, hide: str = "samples") -> None:
    """Write ``result`` into ``out`` keeping the keys it does not have (another benchmark's,
    merged into the same file): read, update (a key holding a mapping in both is merged one
    level down), write."""
    merged: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    for key, value in result.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    write(merged, out, hide=hide)


def write(result: dict[str, Any], out: Path, *, hide: str = "samples") -> None:
    """Write ``result`` to ``out`` and print it, all but its bulky ``hide`` key."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != hide}, indent=2, default=str))
    print(f"Figures written to {out}")


def titanic_in_production(tmp: Path) -> Path:
    """The Titanic example in ``tmp``, ingested, trained and version 1 promoted: the project the
    serving benchmarks serve (each in a fresh process, as a user runs the commands)."""
    root = tmp / "titanic"

    def shipyard(*args: str, cwd: Path) -> None:
        subprocess.run([sys.executable, "-m", "shipyard", *args], cwd=cwd, check=True,
                       capture_output=True)

    print("building the Titanic project and its production model…", flush=True)
    shipyard("example", "titanic", str(root), cwd=tmp)
    shipyard("ingest", cwd=root)
    shipyard("run", "train", cwd=root)
    shipyard("models", "promote", "titanic", "1", "--reason", "benchmark", cwd=root)
    return root


def json_post_script(folder: Path, name: str, body: dict[str, Any], headers: dict[str, str]) -> Path:
    """A wrk script POSTing ``body`` as JSON with ``headers``."""
    return wrk_script(folder, name, [
        'wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body))}",
        'wrk.headers["Content-Type"] = "application/json"'], headers)
