"""``shipyard init``: a project folder (new, or existing without one) gets a commented ``shipyard.yaml``."""

from __future__ import annotations

from pathlib import Path

from shipyard.config import CONFIG_FILE
from shipyard.errors import ConfigError

__all__ = ["TEMPLATE", "write_template"]

TEMPLATE = """\
# Shipyard project file. Secrets come from the environment: ${{VAR}} or ${{VAR:-default}}.
project: {name}

environments:          # named sets of stores; every command takes --env (default dev)
  dev:
    lake: lake         # folder or object store URL (s3://...) of the Delta tables
  # prod:
  #   lake: s3://bucket/lake
  #   metadata_db: ${{SHIPYARD_PROD_DB}}

sources: {{}}           # name: {{url: SQLAlchemy URL}}, e.g. erp: {{url: "sqlite:///erp.db"}}

tables: {{}}            # name: {{source, table | query, mode: snapshot | incremental, watermark,
                       #        primary_key, clean: {{rename, types, pii}}, validation}}

curated: {{}}           # name: {{sql: DuckDB SQL over CLEAN tables by name}}

alerts:
  webhooks: []         # - {{name, kind: teams | slack | json, url: ${{WEBHOOK_URL}}, events}}
"""


_IGNORED = (".shipyard/", "lake/")
"""What a project writes that does not belong in git: its state and its local lake."""


def write_template(directory: Path) -> Path:
    """Write a commented ``shipyard.yaml`` into ``directory``, made if it does not exist.

    Like ``git init`` and ``cargo init``, an existing folder is fine: a project is often
    started where its code already lives, and "run 'shipyard init DIR'" is what a command
    suggests for a folder that has no project file. Nothing is overwritten: a folder that
    already has a ``shipyard.yaml`` is refused, and an existing ``.gitignore`` only gets the
    lines it lacks.
    """
    config = directory / CONFIG_FILE
    if config.exists():
        raise ConfigError(f"{config} already exists: {directory} is a Shipyard project; edit "
                          f"that file, or pick another folder")
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} is a file, not a folder; pick a folder for the project")
    directory.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() else "_" for c in directory.resolve().name) or "project"
    if name[0].isdigit():
        name = f"p_{name}"
    config.write_text(TEMPLATE.format(name=name))
    ignore = directory / ".gitignore"
    kept = ignore.read_text() if ignore.exists() else ""
    missing = [line for line in _IGNORED if line not in kept.splitlines()]
    if missing:
        ignore.write_text(kept + ("\n" if kept and not kept.endswith("\n") else "")
                          + "".join(f"{line}\n" for line in missing))
    return directory
