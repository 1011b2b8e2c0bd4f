"""Every session in README.md runs as written, line by line, in a fresh folder.

Each session runs in one ``bash`` process, so ``cd``, ``export``, ``&&`` and ``VAR=... cmd``
behave as in a person's terminal. Lines are fed one at a time; each line's output goes to a
file, and the first line that ends with another exit code than the README says (``# exit N``,
else 0) fails the test, naming the README line and showing its output.

What the test changes, and why (nothing else is touched):

- ``source .venv/bin/activate`` becomes ``export PATH=<this interpreter's bin>:$PATH``: the
  test runs from the venv ``make install`` made, not from the clone's folder;
  ``PYTHONPATH`` names this source tree. Before that folder on the ``PATH`` comes a
  ``shipyard`` that runs each command forked from the test's zygote (tests/e2e/cli.py): the
  same command in the same folder, environment, streams and signals, without seconds of
  imports at each of the sessions' ~100 commands. The installed entry point itself is run by
  tests/e2e/test_serve_start.py and the image test.
- ``/tmp/...`` becomes the test's own temporary folder, and the ports the README serves on
  (``--port N``) become free ones, so the test never meets a person's files or servers.
- ``export SHIPYARD_PROD_DB=...`` names a PostgreSQL database of the test's own, which does not
  exist beforehand (``ingest --env prod`` creates it) and is dropped afterwards.
- ``python teamstack/team.py`` names this clone's script (the session runs elsewhere), and a
  team stack the session started is stopped afterwards even when a line failed before the
  README's own ``down``: its servers run in process groups of their own.
- ``curl`` without ``-f`` gets ``--fail-with-body``, and ``shipyard loadtest`` runs with
  ``SHIPYARD_LOADTEST_STRICT=1``: a person reads the statuses in the answer and the report,
  the test needs a failed request as an exit code.

A background line (``... &``) whose comment gives an address is polled until that address
answers; servers whose readiness the README waits for itself (``curl --retry ... /ready``)
need no more. Whatever is still running when the session ends is stopped: bash runs in a
process group of its own, which is terminated as a whole.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL
from tests.e2e.cli import ZYGOTE, ZYGOTE_ENV, shell_bin
from tests.e2e.readme_sessions import README, Line, Session, parse_block, sessions, split_comment
from tests.e2e.server import PATIENCE_S, free_port, wait_for

SESSIONS = sessions(README.read_text())
SOURCE = README.parent / "src"
VENV_BIN = Path(sys.executable).parent
TEAM_SCRIPT = README.parent / "teamstack" / "team.py"
PROD_DB_VAR = "SHIPYARD_PROD_DB"


class Shell:
    """One bash process fed a line at a time; each line's output in its own file."""

    def __init__(self, cwd: Path, logs: Path, env: dict[str, str]) -> None:
        self.logs = logs
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], cwd=cwd, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: stopped as a whole at the end
        self.said: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        assert self.process.stdout is not None
        for text in self.process.stdout:
            self.said.put(text)
        self.said.put("")  # bash is gone

    def run(self, index: int, command: str) -> tuple[int, int | None, str]:
        """Exit code, background pid (for ``... &``) and output of ``command``."""
        out = self.logs / f"{index:02d}.out"
        assert self.process.stdin is not None
        self.process.stdin.write(f"{{ {command}\n}} > {shlex.quote(str(out))} 2>&1 < /dev/null\n"
                                 f'echo "__done__ {index} $? $!"\n')
        self.process.stdin.flush()
        while True:
            try:
                text = self.said.get(timeout=PATIENCE_S)
            except queue.Empty:
                raise AssertionError(f"{command!r} still running after {PATIENCE_S:.0f} s:\n"
                                     f"{out.read_text() if out.exists() else ''}") from None
            if not text:
                raise AssertionError(f"bash ended during {command!r}")
            if text.startswith(f"__done__ {index} "):
                _, _, code, pid = [*text.split(), ""][:4]
                return int(code), int(pid) if pid else None, out.read_text()

    def stop(self) -> None:
        """Terminate bash and everything it started; wait until the group is gone."""
        group = self.process.pid
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not _members(group):
                break
            os.killpg(group, sig)
            try:
                wait_for(lambda: not _members(group), f"process group {group} gone", 60)
            except AssertionError:
                continue  # then SIGKILL
        self.process.wait(timeout=PATIENCE_S)


def _members(group: int) -> list[int]:
    """Running processes of process group ``group`` (zombies have stopped: they do not count)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(pgrp) == group and state != "Z":
            members.append(int(stat.parent.name))
    return members


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by bash, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=10).status_code < 500
    except httpx.HTTPError:
        return False


def _wait_up(pid: int, url: str, where: str, out: Path) -> None:
    """Poll ``url`` until it answers; fail at once if the background process ``pid`` ended."""

    def up() -> bool:
        if not _running(pid):
            raise AssertionError(f"{where} stopped:\n{out.read_text()}")
        return _answers(url)

    wait_for(up, f"{where} answering at {url}")


def rewrite(session: Session, tmp: Path,
            overrides: dict[str, str]) -> list[tuple[Line, str, str | None]]:
    """Each line, the command the test runs for it and where it answers (see the docstring)."""
    ports = {p: free_port() for line in session.lines
             for p in re.findall(r"--port (\d+)", line.command)}
    used: set[str] = set()
    commands = []
    for line in session.lines:
        if line.activates:
            path = f"{shlex.quote(str(shell_bin(tmp / 'bin')))}:{shlex.quote(str(VENV_BIN))}"
            commands.append((line, f"export PATH={path}:$PATH", None))
            continue
        command = re.sub(r"(?<![\w./])/tmp\b", str(tmp), line.command)
        command = re.sub(r"(?<![\w./])teamstack/team\.py\b", str(TEAM_SCRIPT), command)
        for old, new in ports.items():
            command = re.sub(rf"(localhost:|127\.0\.0\.1:|--port ){old}\b", rf"\g<1>{new}", command)
        exported = re.match(r"export (\w+)=", command)
        if exported and exported[1] in overrides:
            used.add(exported[1])
            command = f"export {exported[1]}={shlex.quote(overrides[exported[1]])}"
        if command.startswith("curl ") and not re.search(r" -\w*f\b| --fail", command):
            command = "curl --fail-with-body " + command.removeprefix("curl ")
        url = line.url
        for old, new in ports.items():
            url = url and re.sub(rf"(localhost:|127\.0\.0\.1:){old}\b", rf"\g<1>{new}", url)
        commands.append((line, command, url))
    assert used == set(overrides), f"the session no longer exports {set(overrides) - used}"
    return commands


def play(session: Session, tmp: Path, overrides: dict[str, str] | None = None) -> None:
    """Run ``session`` in ``tmp`` as the README says; fail at the first line that does not."""
    work, logs = tmp / "work", tmp / "logs"
    work.mkdir()
    logs.mkdir()
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONPATH": str(SOURCE),
           "SHIPYARD_LOADTEST_STRICT": "1", ZYGOTE_ENV: ZYGOTE.started()}
    shell = Shell(work, logs, env)
    commands = rewrite(session, tmp, overrides or {})
    stacks = [m[1] for _, command, _ in commands
              if (m := re.search(rf"{re.escape(str(TEAM_SCRIPT))} up (\S+)", command))]
    try:
        for index, (line, command, url) in enumerate(commands):
            code, pid, output = shell.run(index, command)
            where = f"README.md:{line.number} {line.command!r} (ran: {command!r})"
            assert code == line.expected_exit, (
                f"{where} exited {code}, the README says {line.expected_exit}\n{output}")
            if line.background and url:
                assert pid is not None
                _wait_up(pid, url, where, logs / f"{index:02d}.out")
    finally:
        shell.stop()
        for folder in stacks:  # no-op when the session stopped it itself
            subprocess.run([sys.executable, str(TEAM_SCRIPT), "down", folder], check=False,
                           capture_output=True, timeout=PATIENCE_S)


@contextmanager
def prod_database() -> Iterator[str]:
    """The URL of a PostgreSQL database that does not exist yet, dropped after the test."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except sa.exc.OperationalError as error:
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI but unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable: {error}")
    name = f"shipyard_readme_{uuid.uuid4().hex[:12]}"
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize("session", SESSIONS, ids=[s.title.split(",")[0] for s in SESSIONS])
def test_session_runs_as_written(session: Session, tmp_path: Path) -> None:
    if any(re.match(rf"export {PROD_DB_VAR}=", line.command) for line in session.lines):
        with prod_database() as url:
            play(session, tmp_path, {PROD_DB_VAR: url})
    else:
        play(session, tmp_path)


def test_readme_has_its_sessions() -> None:
    """The parametrized test above cannot pass by finding nothing."""
    titles = [s.title for s in SESSIONS]
    assert titles == ["The lake, in one session",
                      "Pipelines and the model lifecycle, in one session",
                      "Serving and batch inference, in one session",
                      "Recommendations in dev and prod, in one session",
                      "Your own data, in one session",
                      "Team stack, in one session",
                      "Monitoring, in one session",
                      "Deploy, in one session"]
    assert all(s.lines and s.lines[0].activates for s in SESSIONS)


def test_comments_are_cut_outside_quotes_only() -> None:
    assert split_comment('echo "a # b" x  # exit 3: why') == ('echo "a # b" x', "exit 3: why")
    assert split_comment("echo 'it''s#not' a#b") == ("echo 'it''s#not' a#b", "")
    assert split_comment(r"echo \# x # note") == (r"echo \# x", "note")
    with pytest.raises(ValueError, match="unclosed"):
        split_comment("echo 'open")


def test_blocks_join_continuations_and_read_annotations() -> None:
    lines = parse_block([
        "shipyard ingest   # exit 3: rejected",
        "                  # the explanation goes on",
        "cd /tmp/x && \\",
        "  shipyard lake ls",
        "SHIPYARD_API_KEYS=$KEY shipyard serve --port 8000 &   # http://127.0.0.1:8000/health",
    ], first_number=10)
    assert [(x.number, x.command, x.expected_exit, x.background, x.url) for x in lines] == [
        (10, "shipyard ingest", 3, False, None),
        (12, "cd /tmp/x && shipyard lake ls", 0, False, None),
        (14, "SHIPYARD_API_KEYS=$KEY shipyard serve --port 8000 &", 0, True,
         "http://127.0.0.1:8000/health"),
    ]
    with pytest.raises(ValueError, match="never returns"):
        parse_block(["shipyard serve --port 8000"], first_number=1)


def test_a_line_that_ends_otherwise_than_the_readme_says_fails_the_session(tmp_path: Path) -> None:
    lines = parse_block([
        "source .venv/bin/activate",
        "cd /tmp && mkdir here && cd here",
        "bash -c 'exit 3'        # exit 3: as documented",
        "sleep 600 &             # stopped with the session",
        "echo \"in $PWD\" && false",
    ], first_number=40)
    with pytest.raises(AssertionError, match=rf"README.md:44 .* exited 1, the README says 0\n"
                                             rf"\s*in {tmp_path}/here"):
        play(Session("a failing session", lines), tmp_path)
