"""Rule states and drift shares on ``/metrics``, read from the metadata database at scrape time.

``monitor check`` (by hand or from the scheduler) and ``monitor drift`` store what they found in
``shipyard_monitor_states``; Prometheus users alert and chart on it without running those
commands themselves. Reading at scrape time, not on a timer, keeps the server free of a thread
and shows exactly what the last check stored. A metadata database that cannot be read must not
fail the scrape of the server's own metrics, so it is reported as
``shipyard_monitor_states_up 0`` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shipyard.monitoring.states import MonitorStates, StoredState
from shipyard.project import Project

__all__ = ["MonitorStateCollector"]

log = logging.getLogger("shipyard.serving")


class MonitorStateCollector(Collector):
    """``shipyard_rule_firing{rule}``, ``shipyard_rule_value{rule}``,
    ``shipyard_rule_checked_timestamp_seconds{rule}``, ``shipyard_drift_share{model}``."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._states: MonitorStates | None = None

    def describe(self) -> Iterator[Metric]:
        # Declared without reading the database: registering must not open it.
        return iter(self._families())

    def _families(self) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily("shipyard_monitor_states_up",
                              "1 when the monitoring states could be read from the metadata "
                              "database."),
            GaugeMetricFamily("shipyard_rule_firing", "1 while a monitoring rule fires (as last "
                              "checked by 'shipyard monitor check'), else 0.", labels=["rule"]),
            GaugeMetricFamily("shipyard_rule_value", "Value a monitoring rule last measured "
                              "(absent while unknown).", labels=["rule"]),
            GaugeMetricFamily("shipyard_rule_checked_timestamp_seconds",
                              "When a monitoring rule was last checked (Unix time).",
                              labels=["rule"]),
            GaugeMetricFamily("shipyard_drift_share", "Share of a model's input columns found "
                              "drifting by its last drift check.", labels=["model"]),
        ]

    def _read(self) -> list[StoredState]:
        if self._states is None:
            self._states = MonitorStates.of(self.project)
        return self._states.latest()

    def collect(self) -> Iterator[Metric]:
        up, firing, value, checked, drift = self._families()
        try:
            states = self._read()
        except Exception as error:  # noqa: BLE001 - the server's own metrics must still scrape
            log.warning("monitoring states unreadable for /metrics: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for state in states:
            firing.add_metric([state.key], 1 if state.state == "firing" else 0)
            checked.add_metric([state.key], state.checked_at.timestamp())
            if state.value is not None and state.state != "unknown":
                value.add_metric([state.key], state.value)
                if state.kind == "drift" and state.subject:
                    drift.add_metric([state.subject], state.value)
        yield from (up, firing, value, checked, drift)
