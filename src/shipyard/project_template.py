"""``shipyard init``: a new project folder with a commented ``shipyard.yaml``."""

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


def write_template(directory: Path) -> Path:
    if directory.exists() and any(directory.iterdir()):
        raise ConfigError(f"{directory} is not empty; pick a new or empty folder")
    directory.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() else "_" for c in directory.resolve().name) or "project"
    if name[0].isdigit():
        name = f"p_{name}"
    (directory / CONFIG_FILE).write_text(TEMPLATE.format(name=name))
    (directory / ".gitignore").write_text(".shipyard/\nlake/\n")
    return directory
