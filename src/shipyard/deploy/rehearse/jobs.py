"""CronJobs run once on demand, each from an empty folder, as ``kubectl create job --from``
would start one."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipyard.deploy.rehearse.manifests import Plan
from shipyard.deploy.rehearse.pods import Pod
from shipyard.errors import ConfigError, RehearsalFailed

__all__ = ["run_jobs"]


def run_jobs(plan: Plan, project: Path, secrets: dict[str, str], names: list[str],
             say: Callable[[str], None], timeout_s: float = 1800) -> dict[str, Any]:
    """Run the CronJobs ``names`` (with or without the project's prefix) in order; stop at the
    first that fails. Their exit codes, seconds and output's last line (printed whole)."""
    found: dict[str, Any] = {}
    for name in names:
        full = next((j for j in plan.jobs if j == name or j.endswith(f"-{name}")), None)
        if full is None:
            raise ConfigError(f"no CronJob {name!r} in {plan.rendered}: one of "
                              f"{', '.join(sorted(plan.jobs))}")
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="job-") as folder:
            code, output = Pod(plan, plan.jobs[full], project, Path(folder), full,
                               secrets).run(timeout_s)
        lines = [line for line in output.splitlines() if line.strip()]
        found[full] = {"exit_code": code, "seconds": round(time.monotonic() - started, 1),
                       "last_line": lines[-1].strip() if lines else ""}
        say(f"job {full}: exit {code} in {found[full]['seconds']} s\n{output.rstrip()}")
        if code != 0:
            raise RehearsalFailed(f"CronJob {full} failed (exit {code}): {output[-3000:]}")
    return found
