"""Commands imported only when they run, so that ``shipyard --help`` starts in milliseconds.

Each command's module imports what the command needs (MLflow, scikit-learn, pandas, Arrow):
seconds of imports. Importing every module to build the command tree made every command,
even ``--version``, pay for all of them. Here a command is named with its module and one
line of help; the module is imported when the command is resolved to run, or when its own
help is asked for. The root help lists the one-line helps without importing anything
(``tests/unit/cli/test_startup.py`` checks that they match each command's own help).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

import typer
from typer import _click as click  # Typer vendors Click; its groups hold these classes
from typer.core import TyperCommand, TyperGroup, TyperOption

__all__ = ["LazyCommand", "LazyGroup"]

_display_type_rich = TyperOption.display_type_rich


def _flag_takes_no_value(self: TyperOption, ctx: click.Context) -> str | None:
    """What the help's type column shows for an option: nothing for a flag (``--smoke``,
    ``--help``), which takes no value; Typer 0.29 shows ``<bool>`` there, as if it took one."""
    return None if self.is_flag else _display_type_rich(self, ctx)


TyperOption.display_type_rich = _flag_takes_no_value  # type: ignore[method-assign]


@dataclass(frozen=True)
class LazyCommand:
    """A command (a function or a Typer sub-app) at ``module:attribute``."""

    name: str
    target: str
    help: str

    def load(self) -> click.Command:
        """Import the command's module and build its Click command."""
        module, attribute = self.target.split(":")
        obj = getattr(import_module(module), attribute)
        if isinstance(obj, typer.Typer):
            command: click.Command = typer.main.get_group(obj)
        else:
            single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
            single.command(self.name)(obj)
            command = typer.main.get_command(single)
        command.name = self.name
        return command


class LazyGroup(TyperGroup):
    """A Typer group whose lazy commands are placeholders until one is resolved.

    ``COMMANDS`` is set by a subclass. While the group formats its own help the placeholders
    (a name and a line of help) stand in; anything else that asks for a command gets the
    real one, imported then.
    """

    COMMANDS: tuple[LazyCommand, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        eager = dict(self.commands)
        self.commands = {c.name: TyperCommand(c.name, help=c.help, short_help=c.help)
                         for c in self.COMMANDS}
        self.commands.update(eager)  # defined in main.py itself: cheap, listed last
        self._lazy = {c.name: c for c in self.COMMANDS}
        self._formatting = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = self._lazy.get(cmd_name)
        if lazy is not None and not self._formatting:
            self.commands[cmd_name] = lazy.load()
            del self._lazy[cmd_name]
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._formatting = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._formatting = False
