"""What makes `shipyard deploy rehearse` exit 1: the goals of a rehearsal, read from its figures."""

from __future__ import annotations

from typing import Any

from shipyard.deploy.rehearse import shortfalls


def figures(**changes: Any) -> dict[str, Any]:
    met: dict[str, Any] = {
        "pickup": {"failed": 0, "requests": 900, "replicas_serving": 3, "replicas": 3,
                   "version": 2},
        "rollout": {"failed": 0, "requests": 4000},
        "kill": {"failed": 0, "requests": 800},
        "ui_session": {"signed_in": True, "replicas": 3, "replicas_where_it_works": 3},
        "files_written_in_app": [],
        "answered_recommendations": 5700,
    }
    return {**met, **changes}


def test_a_rehearsal_that_met_every_goal_falls_short_of_none() -> None:
    assert shortfalls(figures()) == []


def test_a_failed_request_outside_the_kill_is_a_shortfall_and_inside_it_is_not() -> None:
    assert shortfalls(figures(kill={"failed": 3, "requests": 800})) == []
    assert shortfalls(figures(rollout={"failed": 2, "requests": 4000})) == [
        "rollout: 2 of 4000 requests failed"]


def test_a_replica_left_on_the_old_version_or_without_the_session_falls_short() -> None:
    missed = shortfalls(figures(
        pickup={"failed": 0, "requests": 900, "replicas_serving": 2, "replicas": 3,
                "version": 2},
        ui_session={"signed_in": True, "replicas": 3, "replicas_where_it_works": 1},
        files_written_in_app=["mlruns/0/meta.yaml"]))
    assert missed == ["pickup: 2 of 3 replicas served version 2",
                      "UI session: works on 1 of 3 replicas",
                      "files written in a replica's /app: ['mlruns/0/meta.yaml']"]
