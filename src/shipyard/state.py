"""Where an environment keeps what is neither a table nor a model: its *state*.

Quarantined batches, validation, comparison and drift reports, the step cache, code snapshots
and compiled models are files that another process may need: a batch quarantined by the
ingest CronJob is accepted from someone's laptop, a training pod reuses the steps the previous
night's pod computed. On one machine they live in a folder (``.shipyard/<env>``, the embedded
default); at team scale in an object store (``s3://bucket/shop/state``, ``az://…``,
``abfss://…``), chosen by the environment's ``state`` setting alone.

Both are reached through :class:`StateStore`, a small key → bytes interface (keys are
``/``-separated paths such as ``reports/21.json``). The object store is ``obstore``, the Python
binding of the same Rust ``object_store`` crate that deltalake writes the lake with, so the
two read the same credentials from the same environment variables (``AWS_ENDPOINT_URL``,
``AZURE_STORAGE_USE_EMULATOR``, …) and a project needs no second set.

Writes of one key are atomic in both: an object store's PUT is, and the folder store writes a
temporary file and renames it. A reader sees the old object or the new one, never half.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from abc import ABC, abstractmethod
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import NotFoundError, StoreUnreachable

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["OBJECT_STORE_SCHEMES", "FolderState", "ObjectState", "StateStore", "is_object_url",
           "open_state"]

OBJECT_STORE_SCHEMES = ("s3://", "s3a://", "az://", "azure://", "abfs://", "abfss://", "gs://",
                        "gcs://")
"""URL prefixes that name an object store (lake and state alike)."""


def is_object_url(location: str) -> bool:
    return location.startswith(OBJECT_STORE_SCHEMES)


class StateStore(ABC):
    """Files of one environment's state, by key."""

    location: str
    """The folder or URL, for messages: where a user goes to look."""

    @property
    @abstractmethod
    def is_local(self) -> bool:
        """Whether the state is a folder on this machine (the embedded default)."""

    def where(self, key: str) -> str:
        """The full path or URL of ``key``, for messages and records."""
        return f"{self.location.rstrip('/')}/{key}"

    def key_of(self, where: str) -> str | None:
        """The key of a path or URL :meth:`where` returned, or None if it is not in this store
        (records written by an older version hold absolute paths of another layout)."""
        prefix = self.location.rstrip("/") + "/"
        return where[len(prefix):] if where.startswith(prefix) else None

    @abstractmethod
    def put(self, key: str, data: bytes) -> str:
        """Write ``data`` at ``key`` atomically; returns :meth:`where` of it."""

    @abstractmethod
    def put_file(self, key: str, source: Path) -> str:
        """Copy the file ``source`` to ``key`` (atomically); returns :meth:`where` of it."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes at ``key``; ``NotFoundError`` naming it when there are none."""

    @abstractmethod
    def get_file(self, key: str, target: Path) -> Path:
        """Copy ``key`` to the local file ``target`` (created with its folders); returns it."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix`` (a folder-like key), sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; nothing happens when it is not there."""

    def put_tree(self, prefix: str, folder: Path) -> None:
        """Copy every file under ``folder`` to ``prefix/<relative path>``."""
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            self.put_file(f"{prefix}/{path.relative_to(folder).as_posix()}", path)

    def get_tree(self, prefix: str, folder: Path) -> Path:
        """Copy every key under ``prefix`` into ``folder`` (same relative paths); returns it."""
        for key in self.list(prefix):
            self.get_file(key, folder / key[len(prefix):].lstrip("/"))
        return folder

    def delete_tree(self, prefix: str) -> None:
        for key in self.list(prefix):
            self.delete(key)

    def scratch(self, purpose: str) -> Path:
        """A private local folder for work in progress, never shared with another process.

        For the folder store it is inside the state folder (so that a rename into place stays
        on one file system); for an object store it is in the system's temporary folder, not
        in the working directory, which a pod may not be able to write and another pod never
        sees.
        """
        root = self._scratch_root / purpose
        root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))

    @property
    @abstractmethod
    def _scratch_root(self) -> Path: ...


class FolderState(StateStore):
    """State in a local folder: the embedded default, ``.shipyard/<env>`` of the project."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    @property
    def is_local(self) -> bool:
        return True

    def path(self, key: str) -> Path:
        """The file of ``key``: local callers may open it directly."""
        return self.root / key

    def put(self, key: str, data: bytes) -> str:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
        partial.write_bytes(data)
        os.replace(partial, target)
        return str(target)

    def put_file(self, key: str, source: Path) -> str:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
        shutil.copyfile(source, partial)
        os.replace(partial, target)
        return str(target)

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFoundError(f"{self.where(key)} does not exist") from None

    def get_file(self, key: str, target: Path) -> Path:
        source = self.path(key)
        if not source.is_file():
            raise NotFoundError(f"{self.where(key)} does not exist")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        return target

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        folder = self.path(prefix)
        if not folder.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in folder.rglob("*")
                      if p.is_file() and not p.name.endswith(".partial"))

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_tree(self, prefix: str) -> None:
        shutil.rmtree(self.path(prefix), ignore_errors=True)

    @property
    def _scratch_root(self) -> Path:
        return self.root / "scratch"


class ObjectState(StateStore):
    """State under a prefix of an object store (S3, Azure Blob / ADLS, GCS)."""

    def __init__(self, url: str, options: dict[str, str] | None = None) -> None:
        self.location = url.rstrip("/")
        self.options = dict(options or {})

    @property
    def is_local(self) -> bool:
        return False

    @cached_property
    def _store(self) -> Any:
        from obstore.exceptions import BaseError
        from obstore.store import from_url

        # deltalake's storage options, as obstore takes them: lower-case config keys, and
        # `allow_http` (AWS_ALLOW_HTTP, AZURE_ALLOW_HTTP) as a client option.
        config = {k.lower(): v for k, v in self.options.items() if not k.lower().endswith("allow_http")}
        client = {"allow_http": True} if any(
            k.lower().endswith("allow_http") and str(v).lower() == "true"
            for k, v in self.options.items()) else None
        try:
            return from_url(self.location, config=config or None,  # type: ignore[arg-type]
                            client_options=client)  # type: ignore[arg-type]
        except (BaseError, ValueError) as error:
            raise StoreUnreachable(
                f"cannot open the state store {self.location}: {error}; check the environment's "
                f"`state` URL and the object store's credentials in the environment "
                f"(AWS_* for s3://, AZURE_* for az:// and abfss://)") from None

    def _call(self, what: str, key: str, function: Any, *args: Any) -> Any:
        """Run an obstore call, turning its errors into Shipyard's (named, with the fix)."""
        from obstore.exceptions import BaseError

        try:
            return function(self._store, *args)
        except FileNotFoundError:
            raise NotFoundError(f"{self.where(key)} does not exist") from None
        except (OSError, BaseError) as error:
            raise StoreUnreachable(
                f"cannot {what} {self.where(key)}: {str(error).splitlines()[0]}; check that the "
                f"object store answers and that this process has its credentials") from None

    def put(self, key: str, data: bytes) -> str:
        import obstore

        self._call("write", key, obstore.put, key, data)
        return self.where(key)

    def put_file(self, key: str, source: Path) -> str:
        import obstore

        self._call("write", key, obstore.put, key, source)
        return self.where(key)

    def get(self, key: str) -> bytes:
        import obstore

        return bytes(self._call("read", key, obstore.get, key).bytes())

    def get_file(self, key: str, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
        with partial.open("wb") as out:
            for chunk in self._stream(key):
                out.write(chunk)
        os.replace(partial, target)
        return target

    def _stream(self, key: str) -> Iterator[bytes]:
        import obstore

        for chunk in self._call("read", key, obstore.get, key):
            yield bytes(chunk)

    def exists(self, key: str) -> bool:
        import obstore

        try:
            self._call("read", key, obstore.head, key)
        except NotFoundError:
            return False
        return True

    def list(self, prefix: str) -> list[str]:
        import obstore

        return sorted(self._call("list", prefix, lambda store, path: [
            meta["path"] for batch in obstore.list(store, path) for meta in batch],
            prefix.rstrip("/") + "/"))

    def delete(self, key: str) -> None:
        import obstore

        with contextlib.suppress(NotFoundError):
            self._call("delete", key, obstore.delete, key)

    @property
    def _scratch_root(self) -> Path:
        return Path(tempfile.gettempdir()) / "shipyard"


def open_state(location: str, options: dict[str, str] | None = None) -> StateStore:
    """The state store at ``location``: an object store URL, else a local folder."""
    if is_object_url(location):
        return ObjectState(location, options)
    root = Path(location.removeprefix("file://"))
    root.mkdir(parents=True, exist_ok=True)
    return FolderState(root)
