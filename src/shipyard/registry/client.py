"""The MLflow Model Registry as Shipyard uses it: aliases for stages, tags for status.

MLflow 3 has no stages; ``staging`` and ``production`` are aliases (one version each, moved
atomically by the registry), and a version's life is recorded in the tag ``shipyard.status``
(``registered``, ``rejected``, ``staging``, ``production``, ``archived``, ``rolled_back``).
How far its registration got is the tag ``shipyard.registration`` (``registered``, ``gated``,
``staged``, ``compared``, or ``rejected``), and its gate's outcome the tag ``shipyard.gate``
(``passed`` or ``failed``): only a passed gate makes a version promotable.
"""

from __future__ import annotations

import difflib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from shipyard.db import unreachable
from shipyard.errors import NotFoundError
from shipyard.names import (
    FLAVOR,
    GATE,
    GATE_CHECKS,
    PRODUCTION,
    REGISTRATION,
    STAGING,
    STATUS,
    Signature,
)
from shipyard.project import Project
from shipyard.tracking import tracking_client

if TYPE_CHECKING:
    from shipyard.train.compiled import CompileCheck, CompiledModel
    from shipyard.train.profile import ReferenceProfile
    from shipyard.train.rows import RowKeys

__all__ = ["GATE", "GATE_CHECKS", "REGISTRATION", "STATUS", "Fetched", "Registry", "filter_literal",
           "gate_passed", "registration_state"]

logger = logging.getLogger(__name__)
_REASON = '"..."'
_ABSENT = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
"""MLflow's error codes for a model, version or alias that is not there."""
"""The ``--reason`` of a suggested command, for the user to fill in."""
_GATED_STATUSES = (STAGING, PRODUCTION, "archived", "rolled_back")
EVALUATION = ("test_X.parquet", "test_y.parquet")
"""Files logged with every model: the test rows its metrics came from, reused to compare it
(a recommender has no labels file: its test rows are the held-out interactions)."""


def filter_literal(value: str) -> str:
    """``value`` as a string in an MLflow search filter: in single quotes, or in double quotes
    when it holds a single quote (the filter has no escape; a name with both kinds is not one
    MLflow can search for, so it is no model here)."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise NotFoundError(f"no registered model {value!r}: a model name has no quotes")


class Registry:
    """Read and move the registered versions of one project's models."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.client = tracking_client(project)  # fails fast, naming the store, when it is down

    @classmethod
    def of(cls, project: Project) -> Registry:
        """The model registry of ``project``'s environment (its tracking store)."""
        return cls(project)

    def names(self) -> list[str]:
        return sorted(m.name for m in self.client.search_registered_models())

    def versions(self, name: str) -> list[ModelVersion]:
        """All versions of ``name``, newest first; an unknown model is a clear error."""
        found = self.client.search_model_versions(f"name = {filter_literal(name)}")
        if not found:
            raise NotFoundError(self._unknown(name))
        return sorted(found, key=lambda v: int(v.version), reverse=True)

    def _unknown(self, name: str) -> str:
        """No model ``name`` here. A model ``shipyard.yaml`` declares may well be in another
        environment's registry, so say where this one is and give the commands that train and
        promote it here; any other name is likely misspelled, so list the names there are."""
        project, env = self.project, self.project.env_name
        here = f"registered in {env}: {', '.join(self.names()) or 'none yet'}"
        config = project.config.models.get(name)
        if config is None:
            declared = ", ".join(sorted(project.config.models)) or "none"
            close = difflib.get_close_matches(name, [*self.names(), *project.config.models], n=1)
            guess = f"; did you mean {close[0]!r}?" if close else ""
            return (f"no registered model {name!r} ({here}; models declared in shipyard.yaml: "
                    f"{declared}){guess}")
        promote = project.command(f"models promote {name} VERSION --reason {_REASON}")
        return (f"no registered model {name!r} in environment {env} ({here}). Models are "
                f"registered per environment: {project.where('registry')}. Train and promote "
                f"it in this environment with '{project.command(f'run {config.pipeline}')}', "
                f"then '{promote}'")

    def get(self, name: str, version: int) -> ModelVersion:
        if 0 < version < 2**63:  # no store holds another (SQL stores fail to even ask)
            try:
                return self.client.get_model_version(name, str(version))
            except MlflowException as error:
                self._absent_or_raise(error)
        versions = ", ".join(str(v.version) for v in self.versions(name))
        raise NotFoundError(f"model {name!r} has no version {version}; "
                            f"its versions are {versions}")

    def alias(self, name: str, alias: str) -> int | None:
        """The version an alias points to, or None."""
        try:
            return int(self.client.get_model_version_by_alias(name, alias).version)
        except MlflowException as error:
            self._absent_or_raise(error)
            return None

    def _absent_or_raise(self, error: MlflowException) -> None:
        """Return when ``error`` says the thing asked for is not there (MLflow answers a missing
        alias with INVALID_PARAMETER_VALUE); any other error is the registry failing, raised as
        such, so that an outage never reads as "no such version"."""
        if error.error_code not in _ABSENT:
            raise unreachable("model registry", self.project.tracking_uri,
                              error.message) from error

    def version_at(self, name: str, alias: str) -> int:
        """The version ``alias`` points to; an error naming the fix when there is none."""
        version = self.alias(name, alias)
        if version is None:
            self.versions(name)  # an unknown model is a NotFoundError naming the known ones
            promote = self.project.command(f"models promote {name} VERSION --reason {_REASON}")
            raise NotFoundError(f"model {name!r} has no {alias} version in environment "
                                f"{self.project.env_name}; promote one with '{promote}'")
        return version

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.client.set_registered_model_alias(name, alias, str(version))

    def tag(self, name: str, version: int, key: str, value: str) -> None:
        self.client.set_model_version_tag(name, str(version), key, value)

    def status(self, name: str, version: int) -> str:
        return self.get(name, version).tags.get(STATUS, "registered")

    def set_status(self, name: str, version: int, status: str) -> None:
        self.tag(name, version, STATUS, status)

    def download(self, name: str, version: int, into: Path) -> Path:
        """The version's model folder (MLmodel, model.skops, evaluation files) under ``into``;
        an unknown model or version is a NotFoundError naming the known ones."""
        import mlflow.artifacts

        self.get(name, version)
        source = self.client.get_model_version_download_uri(name, str(version))
        return Path(mlflow.artifacts.download_artifacts(
            artifact_uri=source, dst_path=str(into), tracking_uri=self.project.tracking_uri))

    def load(self, name: str, version: int) -> tuple[Any, pd.DataFrame, pd.Series | None]:
        """The fitted model and the test rows it was evaluated on (labels, if it has any)."""
        fetched = self.fetch(name, version)
        return fetched.model, fetched.test_X, fetched.test_y

    def download_file(self, name: str, version: int, relative: str, into: Path) -> Path:
        """One file of the version's model folder (``MLmodel``, ``extra_files/…``) under
        ``into``: reading a signature or a profile needs neither the model nor the test rows."""
        import mlflow.artifacts

        source = self.client.get_model_version_download_uri(name, str(version))
        return Path(mlflow.artifacts.download_artifacts(
            artifact_uri=f"{source.rstrip('/')}/{relative}", dst_path=str(into),
            tracking_uri=self.project.tracking_uri))

    def inputs(self, name: str, version: int) -> tuple[str, Signature]:
        """(flavour, input signature) of a version, from its tags and MLmodel file alone."""
        flavor = self.get(name, version).tags.get(FLAVOR, "sklearn")
        with tempfile.TemporaryDirectory() as tmp:
            return flavor, _signature(self.download_file(name, version, "MLmodel", Path(tmp)))

    def profile(self, name: str, version: int) -> ReferenceProfile | None:
        """The reference profile logged with a version (``shipyard.train.profile``); None for
        a version registered before Shipyard kept one."""
        from shipyard.train.profile import PROFILE_FILE, ReferenceProfile

        self.get(name, version)  # an unknown model or version is a NotFoundError naming them
        with tempfile.TemporaryDirectory() as tmp:
            try:  # logged by registration as an extra file of the model
                path = self.download_file(name, version, f"extra_files/{PROFILE_FILE}", Path(tmp))
            except (MlflowException, OSError):  # registered before profiles were kept
                return None
            return ReferenceProfile.from_json(path.read_text())

    def fetch(self, name: str, version: int) -> Fetched:
        """Everything a version carries: model, test rows, and its input signature.

        A scikit-learn model is read with Shipyard's own trust rule (scikit-learn, NumPy, SciPy
        types only), not the list of trusted types stored in the model's MLmodel file; a
        recommender is NumPy arrays.
        """
        with tempfile.TemporaryDirectory() as tmp:
            folder = self.download(name, version, Path(tmp))
            files = {p.name: p for p in folder.rglob("*") if p.is_file()}
            if "test_X.parquet" not in files or not {"model.skops", "recommender.json"} & set(files):
                raise NotFoundError(f"model {name!r} version {version} was not registered by "
                                    f"Shipyard: its artifacts lack the model or its test rows")
            if "recommender.json" in files:
                from shipyard.recsys.model import RecModel

                model = RecModel.load(files["recommender.json"].parent)
            else:
                from shipyard.train.persist import load_estimator

                model = load_estimator(files["model.skops"])
            test_y = (pd.read_parquet(files["test_y.parquet"])["label"]
                      if "test_y.parquet" in files else None)
            return Fetched(name, version, model, pd.read_parquet(files["test_X.parquet"]),
                           test_y, _signature(files.get("MLmodel")), *_compiled(files),
                           profile=_profile(files), rows=_rows(files))


def registration_state(tags: dict[str, str]) -> str:
    """How far a version's registration got. A version registered before the state was
    tagged finished it if its status moved on from ``registered``."""
    if REGISTRATION in tags:
        return tags[REGISTRATION]
    status = tags.get(STATUS, "registered")
    return {"registered": "registered", "rejected": "rejected"}.get(status, "compared")


def gate_passed(tags: dict[str, str]) -> bool:
    """Whether the version passed its gate (registered before the gate was tagged: whether
    it was staged)."""
    if GATE in tags or REGISTRATION in tags:
        return tags.get(GATE) == "passed"
    return tags.get(STATUS) in _GATED_STATUSES


@dataclass(frozen=True)
class Fetched:
    """A registered version, loaded."""

    name: str
    version: int
    model: Any
    test_X: pd.DataFrame
    test_y: pd.Series | None
    inputs: Signature
    """(column, MLflow type, required) of the model's input signature; empty if none."""
    graph: bytes | None = None
    """The checked ONNX graph registration kept (:mod:`shipyard.train.compiled`), or None."""
    compiled: CompileCheck | None = None
    """What registration's compilation found; None for a version registered before it."""
    profile: ReferenceProfile | None = None
    """What its training inputs looked like (:mod:`shipyard.train.profile`); None for a
    version registered before profiles were kept, or a recommender."""
    rows: RowKeys | None = None
    """The keys of the rows it was fitted on and tested on; None for a version registered
    before Shipyard kept them, or trained on rows without keys."""

    def compiled_model(self) -> tuple[CompiledModel | None, str]:
        """The session of the version's checked ONNX graph (None: scikit-learn answers), and
        which path answers and why (as ``models show`` says it).

        A graph that registration kept but this process cannot load (an onnxruntime too old
        for its opset, say) is no reason to refuse the version: scikit-learn answers, as it
        did before graphs were kept, and the reason says so.
        """
        if self.compiled is None:
            return None, "sklearn (registered before ONNX conversion)"
        if self.graph is None:
            return None, self.compiled.describe()
        from shipyard.train.compiled import CompiledModel

        try:
            return CompiledModel(self.graph), self.compiled.describe()
        except Exception as error:  # noqa: BLE001 - the pipeline is still there to answer
            logger.warning("%s v%s: cannot load its ONNX graph, scikit-learn answers: %s",
                           self.name, self.version, error)
            return None, f"sklearn (onnxruntime cannot load the graph: {str(error)[:200]})"


def _compiled(files: dict[str, Path]) -> tuple[bytes | None, CompileCheck | None]:
    """The ONNX graph and compilation record among a version's files, where there are."""
    from shipyard.train.compiled import CHECK_FILE, ONNX_FILE, CompileCheck

    check = (CompileCheck.from_json(files[CHECK_FILE].read_text())
             if CHECK_FILE in files else None)
    graph = files[ONNX_FILE].read_bytes() if ONNX_FILE in files else None
    return (graph, check) if check is not None and check.path == "onnx" else (None, check)


def _profile(files: dict[str, Path]) -> ReferenceProfile | None:
    from shipyard.train.profile import PROFILE_FILE, ReferenceProfile

    return (ReferenceProfile.from_json(files[PROFILE_FILE].read_text())
            if PROFILE_FILE in files else None)


def _rows(files: dict[str, Path]) -> RowKeys | None:
    from shipyard.train.rows import ROWS_FILE, RowKeys

    return RowKeys.from_frame(pd.read_parquet(files[ROWS_FILE])) if ROWS_FILE in files else None


def _signature(mlmodel: Path | None) -> Signature:
    if mlmodel is None:
        return []
    from mlflow.models import Model

    signature = Model.load(str(mlmodel)).signature
    if signature is None:
        return []
    return [(c["name"], c["type"], c.get("required", True))
            for c in signature.inputs.to_dict()]
