"""Commands to paste: every ``shipyard …`` a message suggests is written by :func:`command`.

A hint printed while working in one environment must act on that environment when pasted:
``shipyard runs show RUN`` printed by ``run train --env prod`` would otherwise look in dev.
So hints are never assembled by hand; they come from here (or from ``Project.command``, which
knows its environment), and carry ``--env NAME`` whenever the environment is not the default.
"""

from __future__ import annotations

import shlex

__all__ = ["DEFAULT_ENV", "command"]

DEFAULT_ENV = "dev"
"""The environment a command works in without ``--env``."""


def command(args: str, env: str = DEFAULT_ENV) -> str:
    """``shipyard ARGS``, with ``--env ENV`` appended unless ``env`` is the default.

    ``--env`` goes last so that it follows any subcommand and its arguments, where every
    ``shipyard`` subcommand accepts it.

    >>> command("runs show 3f2a", "prod")
    'shipyard runs show 3f2a --env prod'
    >>> command("ingest")
    'shipyard ingest'
    """
    line = f"shipyard {args.strip()}"
    return line if env == DEFAULT_ENV else f"{line} --env {shlex.quote(env)}"
