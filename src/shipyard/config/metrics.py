"""The metrics a trained model reports, by kind of model: what a gate or a primary metric may name.

A gate on a metric no model reports (``acuracy``) used to be accepted when the file was read and
failed only after training and registering a version. The names are checked when the config is
loaded instead. ``config`` is the lowest layer and cannot import the code that computes the
metrics (``shipyard.train.metrics``, ``shipyard.recsys.metrics``); a unit test holds the names
here equal to theirs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["BASELINES", "CLASSIFIER", "RECOMMENDER", "REGRESSOR", "check_metrics",
           "greater_is_better", "metric_kind"]

CLASSIFIER = ("accuracy", "roc_auc", "f1", "log_loss")
"""What a classifier reports on its test split (``shipyard.train.metrics.CLASSIFICATION``)."""
REGRESSOR = ("rmse", "mae", "r2")
"""What a regressor reports on its test split (``shipyard.train.metrics.REGRESSION``)."""
RECOMMENDER = ("map_at_k", "ndcg_at_k", "precision_at_k", "auc")
"""What a recommender reports, ``k`` being its cut-off (``map_at_10``)."""

BASELINES = {"popularity": "recommender", "mean": "regressor"}
"""The baseline a gate's threshold may be a multiple of, and the kind of model scored with it:
the popularity recommender, or the predictor of the training rows' mean target."""

_LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})

_AT_K = re.compile(r"^(map|ndcg|precision)_at_[1-9][0-9]*$")
_KNOWN = (f"a classifier reports {', '.join(CLASSIFIER)}; a regressor {', '.join(REGRESSOR)}; "
          f"a recommender {', '.join(RECOMMENDER)} with k its cut-off (e.g. map_at_10)")


def metric_kind(name: str) -> str | None:
    """``"classifier"``, ``"regressor"`` or ``"recommender"``: which kind of model reports
    ``name``; None: none."""
    if name in CLASSIFIER:
        return "classifier"
    if name in REGRESSOR:
        return "regressor"
    if name == "auc" or _AT_K.match(name):
        return "recommender"
    return None


def greater_is_better(name: str) -> bool:
    """Whether a higher value of metric ``name`` is a better model (errors and losses: no)."""
    return name not in _LOWER_IS_BETTER


def check_metrics(names: Iterable[str]) -> None:
    """Refuse a metric name no model reports, or names that no one kind of model reports
    together (``accuracy`` and ``map_at_10``): one of them would be missing after training.

    Raises:
        ValueError: naming the metric, the closest known name and the known ones.
    """
    kinds: dict[str, str] = {}
    for name in names:
        kind = metric_kind(name)
        if kind is None:
            cut_off = re.search(r"\d+", name)
            candidates = [*CLASSIFIER, *REGRESSOR, "auc",
                          *(m.replace("_k", f"_{cut_off.group() if cut_off else 10}")
                            for m in RECOMMENDER[:3])]
            close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown metric {name!r}{hint}; {_KNOWN}")
        kinds[name] = kind
    if len(set(kinds.values())) > 1:
        described = ", ".join(f"{name} ({kind})" for name, kind in kinds.items())
        raise ValueError(f"metrics of two kinds of model: {described}; a model reports "
                         f"the metrics of one kind: a classifier's, a regressor's or a "
                         f"recommender's")
