"""The one entry point: a project folder, its ``shipyard.yaml`` and the chosen environment.

Every command starts by building a :class:`Project`; it resolves the environment's store URLs
and paths once, so no other module needs to know where the project lives.

Each store the project opens is got one way, from the store's own layer: ``DeltaStore.of``,
``BatchRegister.of`` (lake), ``Registry.of``, ``AuditTrail.of`` (registry), ``ResultsStore.of``
(batch), ``SlotStore.of`` (scheduler). ``Project`` holds only what every layer shares (paths,
URLs, the engines of its databases), so it imports none of the layers above it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from shipyard.config import load_config
from shipyard.errors import ConfigError
from shipyard.hints import DEFAULT_ENV, command
from shipyard.redact import redact_url, remember_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from shipyard.config.schema import Environment, ProjectConfig
    from shipyard.db.locks import Locks
    from shipyard.state import StateStore

__all__ = ["Project"]


def _is_url(location: str) -> bool:
    from shipyard.state import is_object_url

    return is_object_url(location) or location.startswith("file://")


@dataclass(frozen=True)
class Project:
    """A project folder opened for one environment."""

    root: Path
    config: ProjectConfig
    env_name: str

    @classmethod
    def open(cls, root: Path | str = ".", env: str = DEFAULT_ENV) -> Project:
        root = Path(root).resolve()
        config = load_config(root)
        if env not in config.environments:
            known = ", ".join(sorted(config.environments))
            raise ConfigError(f"unknown environment {env!r}; {root / 'shipyard.yaml'} declares: {known}")
        config.require_environment(env)
        return cls(root=root, config=config, env_name=env)

    @property
    def env(self) -> Environment:
        return self.config.environments[self.env_name]

    def _resolve(self, location: str) -> str:
        location = location.replace("{env}", self.env_name)
        if _is_url(location):
            return location
        path = Path(location)
        return str(path if path.is_absolute() else self.root / path)

    def _resolve_db_url(self, url: str, setting: str) -> str:
        """Make ``sqlite:///relative.db`` relative to the project, not to the working folder.

        The resolved URL is noted with its ``setting`` (for errors naming what to fix) and its
        credentials are remembered, so that they are masked wherever they would be shown.
        """
        from shipyard.db import configured_at

        url = url.replace("{env}", self.env_name)
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
            path = self.root / url[len(prefix):]
            path.parent.mkdir(parents=True, exist_ok=True)
            url = prefix + str(path)
        configured_at(url, setting)
        remember_url(url)
        return url

    @property
    def lake_root(self) -> str:
        return self._resolve(self.env.lake)

    @cached_property
    def state(self) -> StateStore:
        """Quarantine, reports, step cache, snapshots, compiled models: a folder of the project
        (``.shipyard/<env>``) on one machine, an object store URL at team scale."""
        from shipyard.state import open_state

        return open_state(self._resolve(self.env.state), self.storage_options)

    @cached_property
    def locks(self) -> Locks:
        """Cross-process locks: advisory locks where the metadata database is PostgreSQL (they
        exclude every machine that shares it), else file locks beside the SQLite metadata."""
        from shipyard.db.locks import AdvisoryLocks, FolderLocks
        from shipyard.state import FolderState

        if self.metadata_url.startswith("postgresql"):
            return AdvisoryLocks(self.metadata_engine, scope=f"{self.config.project}/{self.env_name}")
        if isinstance(self.state, FolderState):
            return FolderLocks(self.state.root / "locks")
        sqlite = self.metadata_url.removeprefix("sqlite:///")
        return FolderLocks(Path(sqlite).parent / "locks")

    @property
    def metadata_url(self) -> str:
        return self._resolve_db_url(self.env.metadata_db, self._setting("metadata_db"))

    @property
    def results_url(self) -> str:
        return self._resolve_db_url(self.env.results_db, self._setting("results_db"))

    @property
    def tracking_uri(self) -> str:
        return self._resolve_db_url(self.env.tracking_uri, self._setting("tracking_uri"))

    def source_url(self, source: str) -> str:
        """The source's URL in this environment: its own ``environments.<env>.sources`` entry
        (the team's ERP server) if it has one, else the project-wide one. A file source's
        path is made absolute, relative to the project folder."""
        from shipyard.config.schema import is_file_source

        if source in self.env.sources:
            url, setting = self.env.sources[source].url, self._setting(f"sources.{source}.url")
        else:
            url, setting = self.config.sources[source].url, f"sources.{source}.url"
        if is_file_source(url):
            return self._resolve(url)
        return self._resolve_db_url(url, setting)

    def _setting(self, key: str) -> str:
        return f"environments.{self.env_name}.{key}"

    def command(self, args: str) -> str:
        """``shipyard ARGS`` to paste, acting on this environment (``--env`` unless dev).

        Every message that suggests a command builds it here or with :func:`shipyard.hints.command`.
        """
        return command(args, self.env_name)

    def where(self, store: Literal["lake", "registry"]) -> str:
        """``prod's registry is at URL (environments.prod.tracking_uri)``, for "not found here"
        messages: what is missing may well be in another environment's store."""
        match store:
            case "lake":
                key, location = "lake", self.lake_root
            case "registry":
                key, location = "tracking_uri", redact_url(self.tracking_uri)
        return f"{self.env_name}'s {store} is at {location} ({self._setting(key)})"

    @cached_property
    def metadata_engine(self) -> Engine:
        return self._own_engine(self.metadata_url, "metadata database")

    @cached_property
    def results_engine(self) -> Engine:
        return self._own_engine(self.results_url, "results database")

    @staticmethod
    def _own_engine(url: str, purpose: str) -> Engine:
        """An engine of one of Shipyard's own stores, its PostgreSQL database created if missing."""
        from shipyard.db import create_engine_for, ensure_database

        engine = create_engine_for(url, purpose=purpose)
        ensure_database(engine, purpose=purpose)
        return engine

    @property
    def storage_options(self) -> dict[str, str] | None:
        return dict(self.env.storage_options) or None

    @property
    def user(self) -> str:
        """Who acts, for audit records: SHIPYARD_USER, else the login name."""
        import getpass

        return os.environ.get("SHIPYARD_USER") or getpass.getuser()
