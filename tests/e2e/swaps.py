"""Promotions during a load test, as an operator would do them: each promotion must be seen
answering the load before the next one starts, and no request may fail meanwhile."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from shipyard.serving.loadtest import LoadReport, run_load
from tests.e2e.cli import run
from tests.e2e.server import AUTH, wait_for


class ServedVersions:
    """Stops a load test once told to, and meanwhile notes which versions answered it.

    Called by the load generator before each request (see ``run_load(until=...)``)."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.latest: int | None = None
        self.answered = 0
        self.stop = False

    def __call__(self, report: LoadReport) -> bool:
        for body in report.bodies[self.answered:]:
            self.seen.add(body["version"])
            self.latest = body["version"]
        self.answered = len(report.bodies)
        return self.stop


def promote_under_load(root: Path, base: str, versions: list[int],
                       row: dict[str, Any]) -> tuple[LoadReport, set[int]]:
    """Promote ``versions`` of titanic one after another while 8 clients send ``row`` to the
    server at ``base``: (the load's report, the versions that answered it).

    The load lasts as long as the promotions take on this machine (a CLI promote takes
    seconds here, half a minute on a busy one); bounded by run_load's duration and count.
    """
    served, results = ServedVersions(), {}

    def load() -> None:
        results["report"] = run_load(f"{base}/v1/models/titanic/predict", concurrency=8,
                                     duration_s=600, requests=200_000,
                                     payload={"rows": [row]}, headers=AUTH,
                                     keep_bodies=True, until=served)

    def answering(version: int | None) -> bool:
        assert loader.is_alive() or version is None, "the load ended before the promotions"
        return served.latest == version if version else served.latest is not None

    loader = threading.Thread(target=load)
    loader.start()
    try:
        wait_for(lambda: answering(None), "load under way")
        for i, version in enumerate(versions):
            run("models", "promote", "titanic", str(version), "--reason", f"swap {i}", cwd=root)
            wait_for(lambda v=version: answering(v), f"swap {i} to v{version} answering")
    finally:
        served.stop = True
        loader.join()
    return results["report"], served.seen
