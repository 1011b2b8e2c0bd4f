"""Monitoring of served models: skew against the reference profile kept with each version,
drift between serving windows, and reports a person can read.

Above ``batch`` and below ``serving`` in the layers: it reads the registry (profiles) and the
lake (the prediction log the server writes) and is read by the CLI.
"""

from __future__ import annotations

from shipyard.monitoring.drift import ColumnResult, DriftReport, check_drift, measure
from shipyard.monitoring.maintenance import Compacted, compact_logs
from shipyard.monitoring.outcomes import OutcomesReport, check_outcomes, write_outcomes
from shipyard.monitoring.report import report_prefix, write_report
from shipyard.monitoring.retention import ExpiredReports, expire_reports
from shipyard.monitoring.rules import CheckOutcome, RuleResult, check_rules, record_drift
from shipyard.monitoring.trace import Trace, find_request, trace
from shipyard.monitoring.window import parse_duration, parse_since

__all__ = [
    "CheckOutcome",
    "ColumnResult",
    "Compacted",
    "DriftReport",
    "ExpiredReports",
    "OutcomesReport",
    "RuleResult",
    "Trace",
    "check_drift",
    "check_outcomes",
    "check_rules",
    "compact_logs",
    "expire_reports",
    "find_request",
    "measure",
    "parse_duration",
    "parse_since",
    "record_drift",
    "report_prefix",
    "trace",
    "write_outcomes",
    "write_report",
]
