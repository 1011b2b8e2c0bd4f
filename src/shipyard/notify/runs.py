"""A runner hook that alerts the project's webhooks when a pipeline run fails."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.notify.events import Event
from shipyard.notify.webhooks import notify

if TYPE_CHECKING:
    from shipyard.project import Project

__all__ = ["FailureAlerts"]


class FailureAlerts:
    """Sends ``run_failed`` to the webhooks that want it when a step of a run failed.

    An interrupted run (Ctrl-C, a broken store) is not alerted: its user is at the terminal.
    """

    def __init__(self, project: Project) -> None:
        self.project = project

    def on_run_error(self, run_id: str, error: BaseException, result: Any) -> None:
        webhooks = self.project.config.alerts.webhooks
        failed = [s for s in result.steps if s.status == "failed"] if result else []
        if not failed or not any(w.wants("run_failed") for w in webhooks):
            return
        step = failed[0]
        notify(webhooks, Event(
            kind="run_failed", title=f"{result.pipeline}: run {run_id} failed",
            summary=f"step {step.name!r} failed: {step.error}",
            facts={"run": run_id, "pipeline": result.pipeline, "step": step.name,
                   "resume": self.project.command(f"run {result.pipeline} --resume {run_id}")},
            details={"run_id": run_id, "step": step.name, "error": step.error},
            project=self.project.config.project, environment=self.project.env_name))
