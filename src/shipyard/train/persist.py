"""Estimators on disk with skops, trusting only scikit-learn, NumPy and SciPy types.

skops refuses to load a type it does not know unless told to trust it, and a fitted tree model
holds ``sklearn.tree._tree.Tree`` (and ``numpy.dtype``) which skops does not trust by default;
MLflow 3 refuses such a model when it is logged. Shipyard decides the trust itself, by module:
types from the three libraries a fitted scikit-learn model is made of are trusted, anything else
(a user's own class, ``builtins.eval`` in a crafted file) is refused, when saving and when
loading. The same rule is passed to MLflow as ``skops_trusted_types``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.errors import UntrustedEstimator
from shipyard.pipeline.artifacts import ArtifactType, instance_of, register_artifact_type

__all__ = ["TRUSTED_PREFIXES", "dump_estimator", "load_estimator", "trusted_types"]

TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.")
"""Modules whose types a stored estimator may contain."""


def _refused(types: list[str]) -> list[str]:
    return [t for t in types if not t.startswith(TRUSTED_PREFIXES)]


def trusted_types(estimator: Any, *, where: str) -> list[str]:
    """The types skops would refuse in ``estimator``, all of them trusted by Shipyard's rule.

    Raises:
        UntrustedEstimator: the estimator holds a type outside scikit-learn, NumPy and SciPy.
    """
    import skops.io as sio

    return _checked(sio.get_untrusted_types(data=sio.dumps(estimator)), where)


def _checked(found: list[str], where: str) -> list[str]:
    refused = _refused(found)
    if refused:
        raise UntrustedEstimator(
            f"{where}: the estimator contains types that cannot be loaded back safely: "
            f"{', '.join(refused)}. Only scikit-learn, NumPy and SciPy types are trusted; "
            f"replace them (e.g. a FunctionTransformer of your own function by a scikit-learn "
            f"transformer)."
        )
    return found


def dump_estimator(estimator: Any, path: Path, *, where: str) -> None:
    """Write ``estimator`` to ``path`` with skops after checking that it can be loaded back."""
    import skops.io as sio

    sio.dump(estimator, path)
    try:
        _checked(sio.get_untrusted_types(file=path), where)
    except UntrustedEstimator:
        path.unlink()
        raise


def load_estimator(path: Path) -> Any:
    """Load an estimator written by :func:`dump_estimator` (or by MLflow with skops)."""
    import skops.io as sio

    found = sio.get_untrusted_types(file=path)
    refused = _refused(found)
    if refused:
        raise UntrustedEstimator(
            f"{path}: refusing to load an estimator holding {', '.join(refused)}; only "
            f"scikit-learn, NumPy and SciPy types are trusted. Re-train it without those types."
        )
    return sio.load(path, trusted=found)


register_artifact_type(ArtifactType(
    kind="sklearn", label="scikit-learn estimators", suffix=".skops",
    matches=lambda value: instance_of(value, "sklearn.base", "BaseEstimator"),
    save=lambda value, path, where: dump_estimator(value, path, where=where),
    load=load_estimator))
