"""Gates: metric thresholds a model must meet to be staged (``accuracy: ">= 0.75"``).

A threshold may be relative to a baseline scored on the same test rows: ``map_at_10: ">= 1.05
* popularity"`` asks for 5% more than the popularity recommender that training fitted on the
same history and tested on the same held-out purchases (its scores are the model's metrics
named ``popularity.<metric>``); a regressor's ``rmse: "<= 0.9 * mean"`` asks for a tenth less
error than predicting the training rows' mean target for every test row (``mean.<metric>``).
An absolute bar says little when the data changes; beating the simplest model on the same rows
says the model is worth serving.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["BASELINES", "GateCheck", "check_gate"]

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
        "==": operator.eq}
_RULE = re.compile(r"^\s*(>=|<=|>|<|==)\s*(-?[0-9]*\.?[0-9]+)\s*"
                   r"(?:(?:\*|×)\s*(popularity|mean))?\s*$")
BASELINES = ("popularity", "mean")
"""The baselines a relative threshold may name; their scores are the metrics
``<baseline>.<metric>``."""


@dataclass(frozen=True)
class GateCheck:
    """One threshold and how the model did against it (and the baseline's score, when the
    threshold is relative to it)."""

    metric: str
    rule: str
    value: float | None
    passed: bool
    baseline: float | None = None
    """The baseline's score on the same rows, for a relative threshold."""
    bound: float | None = None
    """The value the threshold came to (its multiple of the baseline's score)."""
    baseline_name: str | None = None
    """Which baseline a relative threshold names (``popularity``, ``mean``); None: absolute."""

    def __str__(self) -> str:
        shown = "missing" if self.value is None else f"{self.value:.4f}"
        verdict = f"{self.metric} {shown} {'meets' if self.passed else 'fails'} {self.rule.strip()}"
        named = self.baseline_name
        if named is None:
            return verdict
        if self.baseline is None:
            return f"{verdict} (no {named} score on the same rows: retrain to record one)"
        return f"{verdict} ({named} {self.baseline:.4f}, bound {self.bound:.4f})"


def check_gate(gate: Mapping[str, str], metrics: Mapping[str, float]) -> list[GateCheck]:
    """Check every threshold; a metric the model did not report fails its threshold, and so
    does a relative one whose baseline was not scored."""
    checks = []
    for metric, rule in gate.items():
        match = _RULE.match(rule)
        if match is None:  # the config schema already refuses these
            raise ValueError(f"gate {metric}: {rule!r} is not a threshold")
        op, number, relative = match.group(1), float(match.group(2)), match.group(3)
        value = metrics.get(metric)
        base = metrics.get(f"{relative}.{metric}") if relative else None
        bound = number * base if base is not None else (None if relative else number)
        passed = (value is not None and bound is not None and not math.isnan(value)
                  and _OPS[op](value, bound))
        shown = f"{op} {match.group(2)}" + (f" × {relative}" if relative else "")
        checks.append(GateCheck(metric, shown, value, passed, base, bound, relative))
    return checks
