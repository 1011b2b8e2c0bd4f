"""The step cache: explicit, decodable keys and a content-addressed store of results.

As in hamilton's cache, a step's key is derived from what determines its result — its code,
the parameters it reads, the keys of the steps it reads from, the lake versions it reads and
the versions of the libraries its code reaches —
not from the data itself, so the whole plan of a run (what is reused, what re-runs and why) is
known before anything executes. The key is kept as readable JSON (``CacheKey.encode``) and its
hash, the *fingerprint*, names the folder of the stored outputs in the environment's state
store (a folder on one machine, an object store at team scale, where every pod and Dask worker
finds what another computed). The run records are the metadata store (which run used which
key); this module is the result store.

A result counts only once its manifest is written, and the manifest is written last, so a run
killed mid-write leaves no half result to be reused.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import NotFoundError
from shipyard.pipeline.artifacts import load_value
from shipyard.pipeline.fingerprint import digest, stable_json
from shipyard.state import FolderState

if TYPE_CHECKING:
    from shipyard.project import Project
    from shipyard.state import StateStore

__all__ = ["KEY_FORMAT", "CacheKey", "CachedResult", "ResultStore", "decode_key", "explain"]

KEY_FORMAT = 2
"""2: keys name the versions of the libraries a step runs on. Bump when the meaning of a key
changes, so old results are not reused by mistake."""


@dataclass(frozen=True)
class CacheKey:
    """Everything a step's result depends on.

    Attributes:
        step: Step name.
        code: ``module:qualname`` → source hash of the step and the project code it reaches.
        params: Parameter name → value, for the parameters the step reads.
        inputs: Upstream output name → fingerprint of the step that made it.
        data: Lake table → version read (``"4"``, or ``"4~0.05"`` for a 5% sample).
        run: Run settings a step that asks for the context can see (smoke, sample, tuning).
        outputs: The step's output names.
        libraries: Distribution → version of the libraries the step's code runs on (and
            ``python``), so a result is not reused after an upgrade.
    """

    step: str
    code: dict[str, str]
    params: dict[str, Any]
    inputs: dict[str, str]
    data: dict[str, str]
    run: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    libraries: dict[str, str] = field(default_factory=dict)
    format: int = KEY_FORMAT

    def encode(self) -> str:
        """The key as canonical JSON; :func:`decode_key` reverses it."""
        return stable_json(asdict(self))

    @property
    def fingerprint(self) -> str:
        return digest(self.encode(), 32)


def decode_key(text: str) -> CacheKey:
    data = json.loads(text)
    data["outputs"] = tuple(data.get("outputs", ()))
    return CacheKey(**data)


_MISSING = object()


def _short(name: str) -> str:
    """``module:qualname`` → ``qualname``; a whole module (``module:``) → ``module``."""
    module, _, qualname = name.partition(":")
    return qualname or module


def _changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in old.keys() | new.keys() if old.get(k, _MISSING) != new.get(k, _MISSING))


def explain(key: CacheKey, previous: CacheKey | None) -> str:
    """Why a step with ``key`` must run, compared with its previous attempt's key.

    Returns a short sentence for people: "no cached result", "code of prepare changed",
    "params changed: seed", "input dataset changed", "data version curated.t 3→4".
    """
    if previous is None or previous.format != key.format:
        return "no cached result"
    reasons = []
    code = _changed(previous.code, key.code)
    if code:
        reasons.append(f"code of {', '.join(_short(c) for c in code)} changed")
    params = _changed(previous.params, key.params)
    if params:
        reasons.append(f"params changed: {', '.join(params)}")
    for table in _changed(previous.data, key.data):
        before = previous.data.get(table, "none")
        after = key.data.get(table, "none")
        reasons.append(f"data version {table} {before}→{after}")
    for output in _changed(previous.inputs, key.inputs):
        reasons.append(f"input {output} changed")
    run = _changed(previous.run, key.run)
    if run:
        reasons.append(f"run settings changed: {', '.join(run)}")
    if previous.outputs != key.outputs:
        reasons.append("outputs changed")
    for library in _changed(previous.libraries, key.libraries):
        before = previous.libraries.get(library, "none")
        after = key.libraries.get(library, "none")
        reasons.append(f"library {library} {before}→{after}")
    return "; ".join(reasons) or "no cached result"


@dataclass(frozen=True)
class CachedResult:
    """A complete result (its manifest was found): what made it and how to load each output.

    Its files are in the state store under ``artifacts/<fingerprint>/``; read them with
    :meth:`ResultStore.load` or :meth:`ResultStore.fetch`, which copy them here when the state
    is an object store.
    """

    fingerprint: str
    where: str
    step: str
    run_id: str
    created_at: str
    outputs: dict[str, dict[str, Any]]

    def path(self, output: str) -> str:
        """Where ``output``'s file or folder is (a path, or a URL), for records and messages."""
        return f"{self.where}/{self.outputs[output]['path']}"


class ResultStore:
    """Results under ``artifacts/<fingerprint>/`` of the environment's state store.

    A result is complete once its manifest exists, and the manifest is written last: in a
    state folder the staged folder, manifest included, is renamed into place; in an object
    store every output file is uploaded first and the manifest after them. So a run killed
    mid-write leaves at most files that no manifest names, which are never reused.
    """

    MANIFEST = "manifest.json"
    PREFIX = "artifacts"

    def __init__(self, state: StateStore) -> None:
        self.state = state

    @classmethod
    def of(cls, project: Project) -> ResultStore:
        return cls(project.state)

    def _key(self, fingerprint: str, path: str = "") -> str:
        return f"{self.PREFIX}/{fingerprint}" + (f"/{path}" if path else "")

    def where(self, fingerprint: str) -> str:
        return self.state.where(self._key(fingerprint))

    def lookup(self, fingerprint: str) -> CachedResult | None:
        """The complete result for ``fingerprint``, or None (reads the manifest alone)."""
        try:
            data = json.loads(self.state.get(self._key(fingerprint, self.MANIFEST)))
        except (NotFoundError, json.JSONDecodeError):
            return None
        return CachedResult(fingerprint=fingerprint, where=self.where(fingerprint),
                            step=data["step"], run_id=data["run_id"],
                            created_at=data["created_at"], outputs=data["outputs"])

    def fetch(self, result: CachedResult, output: str) -> Path:
        """A local folder holding ``output``'s file or folder (at its entry's ``path``).

        A state folder is read in place. From an object store only that output is copied, to
        a cache in the system's temporary folder shared by the processes of this machine
        (never the project folder): a result's files do not change once its manifest names
        them, so a copy completed once is reused by every later step and run here.
        """
        if isinstance(self.state, FolderState):
            return self.state.path(self._key(result.fingerprint))
        relative = result.outputs[output]["path"]
        local = (Path(tempfile.gettempdir()) / "shipyard" / "artifacts"
                 / digest(self.state.location, 12) / f"{result.fingerprint}-{result.run_id}")
        if (local / relative).exists():
            return local
        key = self._key(result.fingerprint, relative)
        part = local / f".{relative}.{uuid.uuid4().hex[:8]}.partial"
        if self.state.exists(key):
            self.state.get_file(key, part)
        else:  # a folder output (a dict of frames, a trained model)
            self.state.get_tree(key, part)
        try:
            os.replace(part, local / relative)
        except OSError:  # another process finished the same copy first
            shutil.rmtree(part, ignore_errors=True)
        return local

    def load(self, result: CachedResult, output: str) -> Any:
        """The value of ``output``, read back from its stored files."""
        return load_value(result.outputs[output], self.fetch(result, output))

    def staging(self, fingerprint: str) -> Path:
        """A fresh private local folder to write a result into before :meth:`commit`."""
        if isinstance(self.state, FolderState):  # beside the results: renamed into place
            path = self.state.path(self._key(f".staging-{fingerprint}-{uuid.uuid4().hex[:8]}"))
            path.mkdir(parents=True)
            return path
        return self.state.scratch("staging")

    def commit(self, staging: Path, fingerprint: str, *, step: str, run_id: str,
               key: str, outputs: dict[str, dict[str, Any]]) -> CachedResult:
        """Publish a staged result, its manifest last.

        A result already there for the same key (``--no-cache``, or a concurrent run of the
        same step) is replaced; both are results of the same key, so readers lose nothing.
        """
        created = datetime.now(UTC).isoformat(timespec="seconds")
        manifest = json.dumps({"fingerprint": fingerprint, "step": step, "run_id": run_id,
                               "created_at": created, "key": json.loads(key),
                               "outputs": outputs}, indent=1)
        if isinstance(self.state, FolderState):
            self._rename_into_place(staging, fingerprint, manifest)
        else:
            self.state.put_tree(self._key(fingerprint), staging)
            self.state.put(self._key(fingerprint, self.MANIFEST), manifest.encode())
            self.discard(staging)
        return CachedResult(fingerprint=fingerprint, where=self.where(fingerprint), step=step,
                            run_id=run_id, created_at=created, outputs=outputs)

    def _rename_into_place(self, staging: Path, fingerprint: str, manifest: str) -> None:
        assert isinstance(self.state, FolderState)
        (staging / self.MANIFEST).write_text(manifest)
        final = self.state.path(self._key(fingerprint))
        if final.exists():
            old = final.with_name(f".replaced-{fingerprint}-{uuid.uuid4().hex[:8]}")
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(staging, final)

    @staticmethod
    def discard(staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)
