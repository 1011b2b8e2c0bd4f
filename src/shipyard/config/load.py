"""Read ``shipyard.yaml``: interpolate ``${VAR}`` from the environment, then validate.

Secrets never live in the file: ``${VAR}`` and ``${VAR:-default}`` are replaced from the process
environment before parsing, and a missing variable without default is an error that names it.
Inside ``environments.<name>`` that error waits until the environment is opened
(:meth:`ProjectConfig.require_environment`): a laptop working in ``dev`` need not export the
team stack's ``SHIPYARD_DB``, but a pod opening ``team`` without it stops at start, naming it.
The credentials in the resulting URLs and storage options are handed to :mod:`shipyard.redact`
at once, so no message, log or record of this process can show them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from shipyard.config.schema import ProjectConfig
from shipyard.errors import ConfigError
from shipyard.redact import is_secret_name, redact_text, remember, remember_url, remember_webhook

__all__ = ["CONFIG_FILE", "load_config", "parse_config"]

CONFIG_FILE = "shipyard.yaml"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class _Variables:
    """What interpolation met: every variable named, and per environment the unset ones as
    (setting, variable), left as written to be reported when that environment is opened."""

    named: set[str] = field(default_factory=set)
    unset: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def _interpolate(value: Any, path: str, seen: _Variables) -> Any:
    """Replace ``${VAR}`` in every string of ``value``."""
    if isinstance(value, dict):
        return {k: _interpolate(v, f"{path}.{k}" if path else str(k), seen)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, f"{path}[{i}]", seen) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        seen.named.add(name)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        parts = path.split(".")
        if len(parts) > 2 and parts[0] == "environments":
            seen.unset.setdefault(parts[1], []).append((path, name))
            return match.group(0)
        raise ConfigError(
            f"{path}: environment variable {name} is not set; "
            f"export it or write ${{{name}:-default}} in {CONFIG_FILE}"
        )

    return _VAR.sub(replace, value)


def _format_error(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"] if part not in ("function-after",))
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            msg = "unknown key; check its spelling against the documented keys"
        elif item["type"] == "literal_error":
            what = "type" if "types" in item["loc"] else "value"
            expected = item["ctx"]["expected"].replace("'", "").replace(" or ", ", ")
            msg = f"unknown {what} {item['input']!r}; expected one of {expected}"
        elif item["type"] == "missing":
            msg = "required key is missing"
        elif "input" in item and not isinstance(item["input"], dict | list):
            msg = f"{msg} (got {redact_text(repr(item['input']))})"
        lines.append(f"{loc}: {msg}" if loc else msg)
    return f"{CONFIG_FILE} is invalid:\n  " + "\n  ".join(lines)


def _remember_secrets(value: Any) -> None:
    """Hand every URL's credentials and secret storage options to the redactor."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "storage_options" and isinstance(item, dict):
                remember(str(v) for k, v in item.items() if is_secret_name(str(k)))
            else:
                _remember_secrets(item)
    elif isinstance(value, list):
        for item in value:
            _remember_secrets(item)
    elif isinstance(value, str) and "://" in value:
        remember_url(value)


def parse_config(data: Any) -> ProjectConfig:
    """Validate already-loaded YAML data into a :class:`ProjectConfig`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{CONFIG_FILE} must be a mapping of keys (project, environments, ...)")
    seen = _Variables()
    interpolated = _interpolate(data, "", seen)
    _remember_secrets(interpolated)
    try:
        config = ProjectConfig.model_validate(interpolated)
    except ValidationError as error:
        raise ConfigError(_format_error(error)) from None
    for webhook in config.alerts.webhooks:  # the secret is in the path (Slack, Teams)
        remember_webhook(webhook.url)
    config._unset_variables = seen.unset
    config._named_variables = frozenset(seen.named)
    return config


def load_config(project_dir: Path) -> ProjectConfig:
    """Load and validate the project file of ``project_dir``."""
    path = project_dir / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(
            f"no {CONFIG_FILE} in {project_dir}; run 'shipyard init {project_dir}' "
            f"or pass -p/--project with the project folder"
        )
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    return parse_config(data)
