"""Gates: metric thresholds a model must meet to be staged (``accuracy: ">= 0.75"``)."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["GateCheck", "check_gate"]

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
        "==": operator.eq}
_RULE = re.compile(r"^\s*(>=|<=|>|<|==)\s*(-?[0-9]*\.?[0-9]+)\s*$")


@dataclass(frozen=True)
class GateCheck:
    """One threshold and how the model did against it."""

    metric: str
    rule: str
    value: float | None
    passed: bool

    def __str__(self) -> str:
        shown = "missing" if self.value is None else f"{self.value:.4f}"
        return f"{self.metric} {shown} {'meets' if self.passed else 'fails'} {self.rule.strip()}"


def check_gate(gate: Mapping[str, str], metrics: Mapping[str, float]) -> list[GateCheck]:
    """Check every threshold; a metric the model did not report fails its threshold."""
    checks = []
    for metric, rule in gate.items():
        match = _RULE.match(rule)
        if match is None:  # the config schema already refuses these
            raise ValueError(f"gate {metric}: {rule!r} is not a threshold")
        op, bound = match.group(1), float(match.group(2))
        value = metrics.get(metric)
        passed = value is not None and not math.isnan(value) and _OPS[op](value, bound)
        checks.append(GateCheck(metric, f"{op} {match.group(2)}", value, passed))
    return checks
