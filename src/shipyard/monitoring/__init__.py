"""Monitoring of served models: skew against the reference profile kept with each version,
drift between serving windows, and reports a person can read.

Above ``batch`` and below ``serving`` in the layers: it reads the registry (profiles) and the
lake (the prediction log the server writes) and is read by the CLI.
"""

from __future__ import annotations

from shipyard.monitoring.drift import ColumnResult, DriftReport, check_drift, measure
from shipyard.monitoring.report import report_dir, write_report
from shipyard.monitoring.rules import CheckOutcome, RuleResult, check_rules, record_drift
from shipyard.monitoring.window import parse_duration, parse_since

__all__ = [
           "CheckOutcome",
           "ColumnResult",
           "DriftReport",
           "RuleResult",
           "check_drift",
           "check_rules",
           "measure",
           "parse_duration",
           "parse_since",
           "record_drift",
           "report_dir",
           "write_report",
]
