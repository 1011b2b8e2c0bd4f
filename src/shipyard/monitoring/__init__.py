"""Monitoring of served models: skew against the reference profile kept with each version,
drift between serving windows, and reports a person can read.

Above ``batch`` and below ``serving`` in the layers: it reads the registry (profiles) and the
lake (the prediction log the server writes) and is read by the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard._lazy import exports
from shipyard.monitoring.trace import Trace, find_request, trace  # a module's name too (_lazy)

if TYPE_CHECKING:
    from shipyard.monitoring.drift import check_drift, measure
    from shipyard.monitoring.findings import ColumnResult, DriftReport
    from shipyard.monitoring.maintenance import Compacted, compact_logs
    from shipyard.monitoring.outcomes import OutcomesReport, check_outcomes, write_outcomes
    from shipyard.monitoring.report import report_prefix, write_report
    from shipyard.monitoring.retention import ExpiredReports, expire_reports
    from shipyard.monitoring.rules import CheckOutcome, RuleResult, check_rules, record_drift
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

# Imported on first use: the server imports logschema and states, which need none of these
# (drift and outcomes load SciPy and DuckDB).
__getattr__, __dir__ = exports(__name__, {
    "CheckOutcome": "shipyard.monitoring.rules",
    "ColumnResult": "shipyard.monitoring.findings",
    "Compacted": "shipyard.monitoring.maintenance",
    "DriftReport": "shipyard.monitoring.findings",
    "ExpiredReports": "shipyard.monitoring.retention",
    "OutcomesReport": "shipyard.monitoring.outcomes",
    "RuleResult": "shipyard.monitoring.rules",
    "check_drift": "shipyard.monitoring.drift",
    "check_outcomes": "shipyard.monitoring.outcomes",
    "check_rules": "shipyard.monitoring.rules",
    "compact_logs": "shipyard.monitoring.maintenance",
    "expire_reports": "shipyard.monitoring.retention",
    "measure": "shipyard.monitoring.drift",
    "parse_duration": "shipyard.monitoring.window",
    "parse_since": "shipyard.monitoring.window",
    "record_drift": "shipyard.monitoring.rules",
    "report_prefix": "shipyard.monitoring.report",
    "write_outcomes": "shipyard.monitoring.outcomes",
    "write_report": "shipyard.monitoring.report",
})
