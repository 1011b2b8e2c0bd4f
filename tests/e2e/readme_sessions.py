"""The command lines of README.md's sessions, as a person would paste them into a terminal.

A session is the first fenced code block under a ``##`` heading that ends in "in one session".
Each line of it is shell text followed by an optional comment meant for the reader; a few
comments are also read here, so that the README stays the one place that says what happens:

- ``# exit N`` at the start of a comment: the line is meant to end with exit code N (a
  rejected ingest exits 3); every other line is meant to exit 0.
- a line ending in ``&`` runs in the background (a server); an ``http://`` address in its
  comment is where it answers once it is up.

A line ending in ``\\`` continues on the next one; a line that is only a comment (indented
under a command, continuing its explanation) is not a command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
SESSION_HEADING = re.compile(r"^## (?P<title>.+in one session)\s*$", re.MULTILINE)
# Lines that put the clone's venv first on PATH; the test has no clone folder to run them in.
ACTIVATE = frozenset({"source .venv/bin/activate", ". .venv/bin/activate"})
# Commands that never return by themselves: in a session they must run in the background.
FOREVER = re.compile(r"^(?:\S+=\S+ )*(?:shipyard serve|shipyard scheduler(?!.*--once)|mlflow ui)\b")


@dataclass(frozen=True)
class Line:
    """One command line of a session: its shell text and the comment beside it."""

    number: int  # in README.md, for messages
    command: str
    comment: str = ""

    @property
    def expected_exit(self) -> int:
        found = re.match(r"exit (\d+)\b", self.comment)
        return int(found[1]) if found else 0

    @property
    def background(self) -> bool:
        return self.command.endswith("&") and not self.command.endswith("&&")

    @property
    def url(self) -> str | None:
        """Where a background line answers once it is up, if its comment says."""
        found = re.search(r"https?://\S+", self.comment)
        return found[0] if found else None

    @property
    def activates(self) -> bool:
        return self.command in ACTIVATE


@dataclass(frozen=True)
class Session:
    title: str
    lines: tuple[Line, ...]


def split_comment(text: str) -> tuple[str, str]:
    """``text`` cut at its first ``#`` that starts a shell comment: outside quotes, after a blank."""
    quote = ""
    escaped = False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or text[i - 1].isspace()):
            return text[:i].rstrip(), text[i + 1:].strip()
    if quote:
        raise ValueError(f"unclosed {quote} in {text!r}")
    return text.rstrip(), ""


def parse_block(lines: list[str], first_number: int) -> tuple[Line, ...]:
    """The command lines of one fenced block whose first line is README line ``first_number``."""
    commands: list[Line] = []
    pending = ""
    start = first_number
    for number, raw in enumerate(lines, start=first_number):
        if not pending:
            start = number
        command, comment = split_comment(raw)
        if command.endswith("\\"):
            pending += command[:-1].strip() + " "
            continue
        command = (pending + command.strip()).strip()
        pending = ""
        if not command:
            continue  # a blank line, or a comment continuing the one above
        line = Line(start, command, comment)
        if FOREVER.match(command) and not line.background:
            raise ValueError(f"README.md:{start}: {command!r} never returns: end it with '&'")
        commands.append(line)
    if pending:
        raise ValueError(f"README.md:{start}: the block ends inside a continued line")
    return tuple(commands)


def sessions(text: str) -> list[Session]:
    """Every session of a README's ``text``, in order."""
    found = []
    for heading in SESSION_HEADING.finditer(text):
        following = re.compile(r"^## ", re.MULTILINE).search(text, heading.end())
        section = text[heading.end(): following.start() if following else len(text)]
        block = re.search(r"^```[^\n]*\n(?P<body>.*?)^```", section, re.MULTILINE | re.DOTALL)
        if block is None:
            raise ValueError(f"section {heading['title']!r} has no code block")
        first = text.count("\n", 0, heading.end() + block.start("body")) + 1
        found.append(Session(heading["title"], parse_block(block["body"].splitlines(), first)))
    return found
