"""The step cache: explicit, decodable keys and a content-addressed store of results.

As in hamilton's cache, a step's key is derived from what determines its result — its code,
the parameters it reads, the keys of the steps it reads from, the lake versions it reads and
the versions of the libraries its code reaches —
not from the data itself, so the whole plan of a run (what is reused, what re-runs and why) is
known before anything executes. The key is kept as readable JSON (``CacheKey.encode``) and its
hash, the *fingerprint*, names the folder of the stored outputs. The run records are the
metadata store (which run used which key); this module is the result store.

A result folder appears only when complete: outputs are written to a staging folder that is
renamed into place with its manifest, so a run killed mid-write leaves no half result behind.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipyard.pipeline.fingerprint import digest, stable_json

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
    """A complete result folder: what made it and how to load each output."""

    fingerprint: str
    folder: Path
    step: str
    run_id: str
    created_at: str
    outputs: dict[str, dict[str, Any]]

    def path(self, output: str) -> Path:
        return self.folder / self.outputs[output]["path"]


class ResultStore:
    """Result folders under ``<state>/artifacts/<fingerprint>/``, written atomically."""

    MANIFEST = "manifest.json"

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, fingerprint: str) -> Path:
        return self.root / fingerprint

    def lookup(self, fingerprint: str) -> CachedResult | None:
        """The complete result for ``fingerprint``, or None."""
        folder = self.folder(fingerprint)
        try:
            data = json.loads((folder / self.MANIFEST).read_text())
        except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
            return None
        return CachedResult(fingerprint=fingerprint, folder=folder, step=data["step"],
                            run_id=data["run_id"], created_at=data["created_at"],
                            outputs=data["outputs"])

    def staging(self, fingerprint: str) -> Path:
        """A fresh private folder to write a result into before :meth:`commit`."""
        path = self.root / f".staging-{fingerprint}-{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)
        return path

    def commit(self, staging: Path, fingerprint: str, *, step: str, run_id: str,
               key: str, outputs: dict[str, dict[str, Any]]) -> CachedResult:
        """Publish a staged result: write its manifest, then rename the folder into place.

        A result already there for the same key (``--no-cache``, or a concurrent run of the
        same step) is replaced; both are results of the same key, so readers lose nothing.
        """
        created = datetime.now(UTC).isoformat(timespec="seconds")
        manifest = {"fingerprint": fingerprint, "step": step, "run_id": run_id,
                    "created_at": created, "key": json.loads(key), "outputs": outputs}
        (staging / self.MANIFEST).write_text(json.dumps(manifest, indent=1))
        final = self.folder(fingerprint)
        if final.exists():
            old = self.root / f".replaced-{fingerprint}-{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(staging, final)
        return CachedResult(fingerprint=fingerprint, folder=final, step=step, run_id=run_id,
                            created_at=created, outputs=outputs)

    @staticmethod
    def discard(staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)
