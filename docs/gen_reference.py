"""The generated reference pages: every setting of shipyard.yaml and every `shipyard` command.

A MkDocs hook (``hooks:`` in mkdocs.yml): a page holding a marker line gets it replaced, at
build time, by tables made from the code itself, so the reference cannot drift from it:

- ``<!-- reference: configuration -->`` — every setting, walked from the pydantic models of
  ``shipyard.config.schema`` (``ProjectConfig`` down), with its type, default and description;
- ``<!-- reference: cli -->`` — every command of the ``shipyard`` Typer app, walked through
  Click as ``shipyard --help`` resolves it, with its usage, help and every option's help.

``tests/unit/test_docs.py`` checks both against the schema and the command tree.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

MARKER = re.compile(r"^<!-- reference: (?P<name>[a-z]+) -->$", re.MULTILINE)


# ---- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One key of shipyard.yaml: ``monitoring.rules[].threshold``, ``tables.<name>.mode``."""

    path: str
    type: str
    default: str
    description: str


def _strip_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    """The type under ``Annotated[...]`` and the constraints it carried."""
    metadata: list[Any] = []
    while get_origin(annotation) is not None and hasattr(annotation, "__metadata__"):
        metadata.extend(annotation.__metadata__)
        annotation = get_args(annotation)[0]
    return annotation, metadata


def _union_members(annotation: Any) -> tuple[Any, ...] | None:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return None


def _bounds(metadata: list[Any]) -> str:
    """Numeric bounds as a reader writes them: ``> 0``, ``≤ 100``."""
    signs = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}
    found = []
    for item in metadata:
        for attribute, sign in signs.items():
            value = getattr(item, attribute, None)
            if isinstance(item, annotated_types.BaseMetadata | FieldInfo) and value is not None:
                found.append(f"{sign} {value}")
    return ", ".join(found)


def type_name(annotation: Any, constraints: list[Any] | None = None) -> str:
    """How a setting's type reads in the reference: ``number (> 0)``, ``list of text``.

    ``constraints`` are those pydantic moved from the field's ``Annotated`` into its metadata.
    """
    annotation, metadata = _strip_annotated(annotation)
    bounds = _bounds([*(constraints or []), *metadata])
    members = _union_members(annotation)
    if members is not None:
        named = [type_name(m) for m in members if m is not type(None)]
        text = " or ".join(named) + (" or null" if type(None) in members else "")
    elif get_origin(annotation) is Literal:
        text = " or ".join(f'"{value}"' if isinstance(value, str) else str(value).lower()
                           for value in get_args(annotation))
    elif get_origin(annotation) is dict:
        _, value = get_args(annotation)
        text = f"map of name to {type_name(value)}"
    elif get_origin(annotation) is list:
        text = f"list of {type_name(get_args(annotation)[0])}"
    elif inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        text = "section"
    else:
        text = {str: "text", int: "integer", float: "number", bool: "true or false",
                Any: "any"}.get(annotation, getattr(annotation, "__name__", str(annotation)))
    return f"{text} ({bounds})" if bounds else text


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        made = field.default_factory()  # type: ignore[call-arg]
        return "its settings' defaults" if isinstance(made, BaseModel) else repr(made)
    if field.default is PydanticUndefined:
        return "required"
    if field.default is None:
        return "null"
    if isinstance(field.default, bool):
        return str(field.default).lower()
    return repr(field.default) if isinstance(field.default, str) else str(field.default)


def _models_under(annotation: Any) -> Iterator[tuple[str, type[BaseModel]]]:
    """The sections a value of this type holds, with the path step that reaches each."""
    annotation, _ = _strip_annotated(annotation)
    members = _union_members(annotation)
    if members is not None:
        for member in members:
            yield from _models_under(member)
    elif get_origin(annotation) is dict:
        for step, model in _models_under(get_args(annotation)[1]):
            yield ".<name>" + step, model
    elif get_origin(annotation) is list:
        for step, model in _models_under(get_args(annotation)[0]):
            yield "[]" + step, model
    elif inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        yield "", annotation


def _doc(model: type[BaseModel]) -> str:
    """A model's own docstring (not one inherited from BaseModel), on one line."""
    own = model.__dict__.get("__doc__")
    return " ".join(inspect.cleandoc(own).split()) if own else ""


def settings(model: type[BaseModel], prefix: str = "") -> Iterator[Setting]:
    """Every setting of ``model``, depth first, in the order the model declares them."""
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}{key}"
        nested = list(_models_under(field.annotation))
        description = field.description or next((_doc(m) for _, m in nested if _doc(m)), "")
        yield Setting(path, type_name(field.annotation, field.metadata), _default(field),
                      " ".join(description.split()))
        for step, section in nested:
            yield from settings(section, f"{path}{step}.")


def _cell(text: str) -> str:
    """``text`` in a table cell: on one line, its pipes escaped, and outside code spans its
    angle brackets too (``<project>-<env>`` is a placeholder, not an HTML tag)."""
    parts = re.split(r"(`+[^`]*`+)", " ".join(text.split()))
    plain = (part.replace("<", "&lt;").replace(">", "&gt;") if i % 2 == 0 else part
             for i, part in enumerate(parts))
    return "".join(plain).replace("|", "\\|")


def _code(text: str) -> str:
    """``text`` as a code span in a table cell (the table extension skips pipes in code)."""
    return f"`{' '.join(text.split())}`"


def configuration_reference(model: type[BaseModel] | None = None) -> str:
    """The configuration reference: one table per top-level key of shipyard.yaml."""
    if model is None:
        from shipyard.config.schema import ProjectConfig

        model = ProjectConfig
    every = list(settings(model))
    out: list[str] = []
    for name in model.model_fields:
        top, *below = [s for s in every
                       if s.path == name or s.path.startswith((f"{name}.", f"{name}["))]
        out += [f"### `{name}`", "", _cell(top.description) or "—", "",
                f"Type: {_cell(top.type)}. Default: `{top.default}`.", ""]
        if below:
            out += ["| setting | type | default | description |", "|---|---|---|---|"]
            out += [f"| {_code(s.path)} | {_cell(s.type)} | {_code(s.default)} | {_cell(s.description)} |"
                    for s in below]
            out.append("")
    return "\n".join(out)


# ---- command line --------------------------------------------------------------------------


def _commands(command: Any, ctx: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """Every command under ``command`` (a Click group or command), resolved as when it runs."""
    yield path, command, ctx
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            yield from _commands(sub, type(ctx)(sub, info_name=name, parent=ctx), f"{path} {name}")


def command_tree() -> list[tuple[str, Any, Any]]:
    """``(path, click command, context)`` for ``shipyard`` and every command under it."""
    import typer

    from shipyard.cli.main import app

    root = typer.main.get_command(app)
    return list(_commands(root, type_context(root), "shipyard"))


def type_context(root: Any) -> Any:
    """A Click context for ``root`` of the Click that Typer uses (it vendors its own)."""
    return root.context_class(root, info_name="shipyard")


def _help(text: str | None) -> str:
    """Help text as Markdown: Click's ``\\b`` (keep line breaks) markers dropped."""
    return inspect.cleandoc(text or "").replace("\b\n", "").replace("\b", "")


def options(command: Any, ctx: Any) -> list[tuple[str, str]]:
    """``(how it is written, its help)`` of each argument and option, as ``--help`` shows them
    (type, default and range included); hidden ones are left out, as there."""
    records = (param.get_help_record(ctx) for param in command.get_params(ctx))
    return [(names, " ".join(_help(text).split())) for names, text in filter(None, records)]


def cli_reference() -> str:
    """The command-line reference: usage, help and options of every command, in ``--help`` order."""
    out: list[str] = []
    for path, command, ctx in command_tree():
        out += [f"{'#' * min(path.count(' ') + 2, 4)} `{path}`", ""]
        out += ["```", " ".join([path, *command.collect_usage_pieces(ctx)]), "```", ""]
        help_text = _help(command.help or command.short_help)
        if help_text:
            out += [help_text, ""]
        rows = options(command, ctx)
        if rows:
            out += ["| argument or option | help |", "|---|---|"]
            out += [f"| {_code(names)} | {_cell(text)} |" for names, text in rows]
            out.append("")
    return "\n".join(out)


# ---- the hook ------------------------------------------------------------------------------

GENERATORS = {"configuration": configuration_reference, "cli": cli_reference}


def render(markdown: str) -> str:
    """``markdown`` with each reference marker replaced by the reference it names."""
    return MARKER.sub(lambda found: GENERATORS[found["name"]](), markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs hook: generate the references into the pages that hold their markers."""
    return render(markdown)
