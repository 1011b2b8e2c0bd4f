"""Each environment's stores as ``shipyard.yaml`` writes them, and whether a pod can use them.

A pod starts from an empty, read-only working folder of its own, its ``localhost`` is itself,
and a Secret key it lacks must stop it rather than leave a store unset. So an environment can
run in a cluster only when every store is a server named by a *required* ``${VAR}`` (or a
literal server URL): a local folder, an SQLite file, a database on localhost or a
``${VAR:-default}`` fallback each give every pod a silent store of its own.

This reads the file as written (before ``${VAR}`` are replaced), because what matters is
whether a value is a literal, a required ``${VAR}`` or a fallback: ``deploy build`` renders
overlays for the environments without findings (and makes their store variables required
Secret keys), ``deploy validate`` refuses a rendered overlay with any.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from shipyard.config.schema import Environment

__all__ = ["API_KEYS", "Finding", "SecretVar", "Store", "findings", "local_reason", "raw_config",
           "secret_vars", "stores"]

API_KEYS = "SHIPYARD_API_KEYS"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_OBJECT_STORES = ("s3", "s3a", "az", "azure", "abfs", "abfss", "gs", "gcs")
_LOOPBACK = ("localhost", "0.0.0.0", "::1", "")  # noqa: S104 - names to refuse, not to bind
_FOLDER = "is a local folder: each pod gets an empty one of its own"
Kind = Literal["folder", "database", "tracking", "address"]
_SETTINGS: dict[str, Kind] = {"lake": "folder", "state": "folder", "metadata_db": "database",
                              "results_db": "database", "tracking_uri": "tracking",
                              "dask_address": "address"}
_FIX: dict[Kind, str] = {
    "folder": "object storage (s3://, az://, abfss://)",
    "database": "a PostgreSQL server",
    "tracking": "an MLflow tracking server (http(s)://)",
    "address": "the Dask scheduler's Service (tcp://host:8786)",
}
_EXAMPLE = {"lake": "SHIPYARD_LAKE", "state": "SHIPYARD_STATE", "metadata_db": "SHIPYARD_DB",
            "results_db": "SHIPYARD_DB", "tracking_uri": "MLFLOW_TRACKING_URI",
            "dask_address": "DASK_SCHEDULER_ADDRESS"}


@dataclass(frozen=True)
class SecretVar:
    """A variable the pods read from the Secret; ``optional`` only when no store needs it and
    every use in shipyard.yaml has a default."""

    name: str
    optional: bool


@dataclass(frozen=True)
class Store:
    """One store of an environment: its setting's path, what it must be, the value."""

    setting: str
    kind: Kind
    value: str
    written: bool  # False: the schema's default (a local one), the key is not in the file
    example: str  # a variable name to suggest in the fix

    @property
    def variables(self) -> list[tuple[str, str | None]]:
        """(name, default or None) of each ``${VAR}`` in the value."""
        return [(m[1], m[2]) for m in _VAR.finditer(self.value)]


@dataclass(frozen=True)
class Finding:
    """Why a store cannot serve pods, and the change to ``shipyard.yaml`` that fixes it."""

    setting: str
    message: str
    fix: str


def raw_config(text: str) -> dict[str, Any]:
    """``shipyard.yaml`` as written: ``${VAR}`` kept (its validity is load_config's to check)."""
    data = yaml.safe_load(text)
    return data if isinstance(data, dict) else {}


def _mapping(node: Any) -> dict[str, Any]:
    return node if isinstance(node, dict) else {}


def stores(raw: dict[str, Any], env: str) -> list[Store]:
    """The stores of ``env``: its own settings (or their defaults) and the sources it reads,
    each from ``environments.<env>.sources`` where it has its own URL."""
    section = _mapping(_mapping(raw.get("environments")).get(env))
    found = []
    for key, kind in _SETTINGS.items():
        value = section.get(key, Environment.model_fields[key].default)
        if value is not None:
            found.append(Store(f"environments.{env}.{key}", kind,
                               str(value).replace("{env}", env), key in section, _EXAMPLE[key]))
    own = _mapping(section.get("sources"))
    for name, source in _mapping(raw.get("sources")).items():
        setting = f"environments.{env}.sources.{name}" if name in own else f"sources.{name}"
        url = _mapping(own.get(name, source)).get("url")
        if url is not None:
            example = re.sub(r"\W", "_", f"{name}_URL").upper()
            found.append(Store(f"{setting}.url", "database", str(url), True, example))
    return found


def local_reason(kind: Kind, value: str) -> str | None:
    """What makes a literal value pod-local, or None for a server."""
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if kind == "folder":
        return None if scheme in _OBJECT_STORES else _FOLDER
    if scheme.startswith("sqlite"):
        return "is SQLite: a file on each pod's own disk"
    if kind == "tracking" and scheme in ("", "file"):
        return _FOLDER
    host = (urlsplit(value if scheme else f"tcp://{value}").hostname or "").strip("[]")
    if host in _LOOPBACK or host.startswith("127."):
        return (f"is on {host or 'the local socket'}: in a pod, the pod itself, where no "
                f"server runs")
    return None


def _findings(store: Store) -> Iterator[Finding]:
    fix = (f"set {store.setting} to {_FIX[store.kind]} through a required variable, e.g. "
           f"${{{store.example}}}")
    shown = repr(store.value) if store.written else f"not set, so {store.value!r}"
    if not store.value.startswith("${"):  # a literal (scheme, host) that can be judged here
        reason = local_reason(store.kind, store.value)
        if reason:
            yield Finding(store.setting, f"{shown} {reason}", fix)
    for name, default in store.variables:
        if default is not None:
            yield Finding(store.setting, f"{store.value} falls back to {default!r} when "
                          f"{name} is missing, instead of stopping the pod",
                          f"write ${{{name}}} without a default")


def findings(raw: dict[str, Any], env: str) -> list[Finding]:
    """Every reason ``env``'s stores cannot serve pods (none: it can run in a cluster)."""
    return [f for store in stores(raw, env) for f in _findings(store)]


def _occurrences(node: Any) -> Iterator[tuple[str, bool]]:
    """(name, has a default) of each ``${VAR}`` in a YAML tree."""
    if isinstance(node, dict):
        for value in node.values():
            yield from _occurrences(value)
    elif isinstance(node, list):
        for value in node:
            yield from _occurrences(value)
    elif isinstance(node, str):
        yield from ((m[1], m[2] is not None) for m in _VAR.finditer(node))


def secret_vars(raw: dict[str, Any], env: str | None = None) -> list[SecretVar]:
    """The Secret keys the pods of ``env`` read (all environments' when None), then the API
    keys: every ``${VAR}`` outside the other environments' sections; a store's is required."""
    scope = dict(raw)
    if env is not None:
        scope["environments"] = _mapping(raw.get("environments")).get(env)
    found: dict[str, bool] = {}
    for name, defaulted in _occurrences(scope):
        found[name] = found.get(name, True) and defaulted
    if env is not None:
        for store in stores(raw, env):
            found.update((name, False) for name, _ in store.variables)
    found.pop(API_KEYS, None)
    return [SecretVar(n, o) for n, o in sorted(found.items())] + [SecretVar(API_KEYS, False)]
