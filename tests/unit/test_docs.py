"""The documentation: generated references that list everything, links that resolve.

``make docs`` (``mkdocs build --strict``) fails on a broken link between pages; these tests
also cover README.md, which MkDocs does not build, and check the references against the code
they are generated from: a setting of shipyard.yaml or a command option the reference left
out fails here.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer
from markdown.extensions.toc import slugify
from pydantic import BaseModel, Field

from shipyard.cli.main import app
from shipyard.config.schema import ProjectConfig

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


GEN = _generator()


@cache
def _built(page: Path) -> str:
    """A page's Markdown as MkDocs builds it: generated references filled in."""
    return GEN.render(page.read_text())


# ---- the configuration reference -----------------------------------------------------------


def _schema_paths(schema: dict[str, Any], defs: dict[str, Any], prefix: str) -> set[str]:
    """Every key path of a JSON schema (pydantic's own rendering of the models, not the
    generator's walk): ``a.<name>.b`` for a map's values, ``a[].b`` for a list's items."""
    if "$ref" in schema:
        return _schema_paths(defs[schema["$ref"].rsplit("/", 1)[1]], defs, prefix)
    found: set[str] = set()
    for branch in schema.get("anyOf", []) + schema.get("allOf", []):
        found |= _schema_paths(branch, defs, prefix)
    for name, sub in schema.get("properties", {}).items():
        found.add(prefix + name)
        found |= _schema_paths(sub, defs, f"{prefix}{name}.")
    values = schema.get("additionalProperties")
    if isinstance(values, dict):
        found |= _schema_paths(values, defs, prefix.removesuffix(".") + ".<name>.")
    if isinstance(schema.get("items"), dict):
        found |= _schema_paths(schema["items"], defs, prefix.removesuffix(".") + "[].")
    return found


def test_the_configuration_reference_lists_every_setting_of_shipyard_yaml() -> None:
    schema = ProjectConfig.model_json_schema()
    expected = _schema_paths(schema, schema.get("$defs", {}), "")
    page = _built(DOCS / "reference" / "configuration.md")
    missing = sorted(path for path in expected if f"`{path}`" not in page)
    assert len(expected) > 100  # the walk found the schema's settings, not nothing
    assert "drift_share" in " ".join(expected) and "deploy.environments.<name>.namespace" in expected
    assert not missing, f"settings missing from the configuration reference: {missing}"


def test_the_configuration_reference_is_generated_from_the_models() -> None:
    """A setting added to a model appears with its type, bounds, default and description."""

    class Check(BaseModel):
        """How a check runs."""

        retries: int = Field(default=3, ge=0, le=10, description="Tries after the first.")

    class Project(BaseModel):
        checks: dict[str, Check] = Field(default_factory=dict)
        hooks: list[Check] | None = None

    page = GEN.configuration_reference(Project)
    assert "| `checks.<name>.retries` | integer (≥ 0, ≤ 10) | `3` | Tries after the first. |" in page
    assert "`hooks[].retries`" in page
    assert "### `checks`\n\nHow a check runs." in page


# ---- the command-line reference ------------------------------------------------------------


def _commands(command: Any, ctx: Any, path: str) -> list[tuple[str, Any, Any]]:
    found = [(path, command, ctx)]
    for name in getattr(command, "list_commands", lambda _: [])(ctx):
        sub = command.get_command(ctx, name)
        if not sub.hidden:
            found += _commands(sub, sub.context_class(sub, info_name=name, parent=ctx),
                               f"{path} {name}")
    return found


def _sections(page: str) -> dict[str, str]:
    """The CLI reference's text per command, keyed by its path (``shipyard lake ls``)."""
    parts = re.split(r"^#{2,4} `(shipyard[^`]*)`$", page, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_cli_reference_lists_every_command_and_option_with_its_help() -> None:
    root = typer.main.get_command(app)
    commands = _commands(root, root.context_class(root, info_name="shipyard"), "shipyard")
    sections = _sections(_built(DOCS / "reference" / "cli.md"))
    assert len(commands) > 30 and "shipyard deploy rehearse" in [p for p, _, _ in commands]
    assert sorted(sections) == sorted(path for path, _, _ in commands)
    for path, command, ctx in commands:
        text = " ".join(sections[path].split())
        assert " ".join((command.help or command.short_help or "").split()[:6]) in text, path
        for param in command.get_params(ctx):
            if getattr(param, "hidden", False):
                continue
            written = ([param.metavar or param.name] if param.param_type_name == "argument"
                       else [*param.opts, *param.secondary_opts])
            for name in written:
                assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE), (
                    path, name)
            words = " ".join((getattr(param, "help", None) or "").split()[:5])
            assert words in text, (path, param.name, words)


# ---- links and names -----------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _prose(markdown: str) -> str:
    """``markdown`` without fenced blocks and code spans, where brackets are not links."""
    markdown = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`+[^`\n]*`+", "", markdown)


def _anchors(page: Path) -> set[str]:
    headings = re.findall(r"^#{1,6} (.+?)\s*$", _built(page), flags=re.MULTILINE)
    return {slugify(re.sub(r"[`*]", "", heading), "-") for heading in headings}


def _relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(_prose(page.read_text()))
            if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_points_at_a_file_and_heading_that_exist(page: Path) -> None:
    for target in _relative_links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.is_file(), f"{page.relative_to(ROOT)}: {target} names no file"
        if anchor and file.suffix == ".md":
            assert anchor in _anchors(file), f"{page.relative_to(ROOT)}: {target}: no such heading"


def test_the_readme_links_every_docs_page() -> None:
    linked = {(ROOT / target.partition("#")[0]).resolve()
              for target in _relative_links(ROOT / "README.md")}
    pages = {p.resolve() for p in DOCS.rglob("*.md")} - {(DOCS / "index.md").resolve()}
    assert not sorted(pages - linked), "docs pages the README does not link"


def test_the_link_check_finds_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("[ok](page.md) `[not a link](nowhere.md)` [gone](nowhere.md) [web](https://x.org)")
    assert _relative_links(page) == ["page.md", "nowhere.md"]


def test_architecture_gives_every_layer_of_the_contract_in_its_order() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    prefix = "".join(f"{c}." for c in contract.get("containers", []))  # names are the container's
    rows = re.findall(r"^\| (\d+) \| (.+?) \| ", (DOCS / "architecture.md").read_text(), re.MULTILINE)
    documented = [sorted(re.findall(r"`(shipyard[\w.]*)`", packages)) for _, packages in rows]
    layers = [sorted(prefix + name.strip(" ()") for name in re.split(r"[|:]", layer))
              for layer in contract["layers"]]
    assert documented == layers


def test_nothing_names_the_internal_design_notes() -> None:
    """Users never see the notes the project was planned with: no file points at them."""
    design = "DESIGN" + ".md"
    files = [ROOT / name for name in ("README.md", "pyproject.toml", "Makefile", "mkdocs.yml")]
    for folder in ("src", "tests", "benchmarks", "teamstack", "docs", ".ci", ".github"):
        files += [f for f in (ROOT / folder).rglob("*") if f.is_file()
                  and f.suffix in {".py", ".md", ".toml", ".yml", ".yaml", ".txt", ""}]
    named = [str(f.relative_to(ROOT)) for f in files
             if design in (text := f.read_text(errors="replace")) or "../" + "shared" in text]
    assert len(files) > 100 and not named
