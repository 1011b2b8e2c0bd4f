"""What a waiting scheduler waits for: the earliest next slot of any pipeline's schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipyard.errors import ConfigError
from shipyard.project import Project
from shipyard.scheduler import NextSlot, next_cron_slot

YAML = """\
project: p
environments: {{dev: {{lake: lake}}}}
pipelines:
  nightly: {{function: "jobs:nightly", schedule: "{nightly}"}}
  hourly: {{function: "jobs:hourly", schedule: "15 * * * *"}}
  on_data: {{function: "jobs:nightly", on_new_data: true}}
"""


def project(root: Path, nightly: str = "0 3 * * *") -> Project:
    (root / "shipyard.yaml").write_text(YAML.format(nightly=nightly))
    return Project.open(root)


def test_the_next_slot_is_the_earliest_of_all_schedules(tmp_path: Path) -> None:
    p = project(tmp_path)
    day = datetime(2026, 11, 25, tzinfo=UTC)
    assert next_cron_slot(p, day.replace(hour=2, minute=10)) == NextSlot(
        "hourly", "15 * * * *", day.replace(hour=2, minute=15))
    assert next_cron_slot(p, day.replace(hour=2, minute=20)) == NextSlot(
        "nightly", "0 3 * * *", day.replace(hour=3))
    assert next_cron_slot(p, day.replace(hour=3)) == NextSlot(  # 03:00 is due, not next
        "hourly", "15 * * * *", day.replace(hour=3, minute=15))


def test_no_schedule_means_no_next_slot_and_a_bad_one_is_named(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(
        'project: p\nenvironments: {dev: {lake: lake}}\n'
        'pipelines: {on_data: {function: "jobs:x", on_new_data: true}}\n')
    assert next_cron_slot(Project.open(tmp_path), datetime.now(UTC)) is None
    with pytest.raises(ConfigError, match=r"pipelines.nightly.schedule: 'at three' is not a cron"):
        next_cron_slot(project(tmp_path, nightly="at three"), datetime.now(UTC))
