"""Monitoring of served models: skew against the reference profile kept with each version,
drift between serving windows, and reports a person can read.

Above ``batch`` and below ``serving`` in the layers: it reads the registry (profiles) and the
lake (the prediction log the server writes) and is read by the CLI.
"""

from __future__ import annotations

from shipyard.monitoring.drift import ColumnResult, DriftReport, check_drift, measure
from shipyard.monitoring.maintenance import Compacted, compact_logs
from shipyard.monitoring.outcomes import OutcomesReport, check_outcomes, write_outcomes
from shipyard.monitoring.report import report_dir, write_report
from shipyard.monitoring.trace import Trace, find_request, trace
from shipyard.monitoring.window import parse_duration, parse_since

__all__ = ["ColumnResult", "DriftReport", "check_drift", "measure", "parse_duration", "parse_since",
           "report_dir", "write_report"]
__all__ += ["OutcomesReport", "check_outcomes", "write_outcomes"]
__all__ += ["Compacted", "compact_logs"]
__all__ += ["Trace", "find_request", "trace"]
