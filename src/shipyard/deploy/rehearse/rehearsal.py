"""The rehearsal: the plan's replicas behind the balancer, operations under load, figures.

Operations, each with ``clients`` clients sending recommendation requests through the
balancer while it runs (and for ``settle_s`` after, so that a late failure is counted):

``pickup``   a version promoted (``models promote``, run as CD would, from an empty folder);
             the seconds until the last replica serves it, read from each replica's /ready
``rollout``  a rolling update of every replica (the strategy of the Deployment)
``scale``    to the HPA's maximum and back to its minimum
``kill``     one replica's processes killed with -9, restarted by "the kubelet"

A UI session signed in through the balancer is then used on every replica directly. What it
cannot show is said by :data:`NOT_SHOWN`.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shipyard.deploy.rehearse.fleet import Fleet, free_port, median
from shipyard.deploy.rehearse.haproxy import Balancer, health_check
from shipyard.deploy.rehearse.load import Load
from shipyard.deploy.rehearse.manifests import Container, Plan
from shipyard.deploy.rehearse.pods import Pod
from shipyard.errors import RehearsalFailed

__all__ = ["NOT_SHOWN", "OPERATIONS", "Rehearsal", "Settings", "shortfalls"]

OPERATIONS = ("pickup", "rollout", "scale", "kill")
NOT_SHOWN = (
    ("node failures, eviction and scheduling (one machine; a replica is a process, not a pod "
    "on a node)"),
    "NetworkPolicy, Ingress and DNS (every process reaches every port of 127.0.0.1)",
    ("pulling the image from a registry, its user and read-only root filesystem (the "
    "replicas run this machine's Shipyard and the project's deploy/ scripts)"),
    "the HPA's decisions from CPU (it scales to the bounds the manifests give)",
    "resource requests and limits (no cgroup limits are set)",
    ("how the pods get the object store's credentials (workload identity; here from the "
    "secrets' AWS_*/AZURE_* variables)"),
)


@dataclass
class Settings:
    replicas: int
    operations: tuple[str, ...] = OPERATIONS
    promote: int | None = None
    model: str | None = None
    customers: tuple[str, ...] = tuple(f"C{n:05d}" for n in range(1, 17))
    clients: int = 16
    rate: float = 5.0             # requests a second per client
    settle_s: float = 2.0
    op_bound_s: float = 300.0


@dataclass
class Rehearsal:
    """Run ``settings.operations`` on the replicas of ``plan``; ``figures`` as they come."""

    plan: Plan
    project: Path
    secrets: dict[str, str]
    settings: Settings
    say: Callable[[str], None] = print
    figures: dict[str, Any] = field(default_factory=dict)
    base_url: str = ""            # the balancer's, once started

    @property
    def key(self) -> str:
        """The first API key without its ``:role``, as the image's probe sends it."""
        first = self.plan.server.env.get("SHIPYARD_API_KEYS", "").split(",", maxsplit=1)[0]
        return first.split(":", maxsplit=1)[0].strip()

    def run(self) -> dict[str, Any]:
        if not self.key:
            raise RehearsalFailed("the server has no SHIPYARD_API_KEYS: give it in --secrets "
                                  "FILE or export it")
        with tempfile.TemporaryDirectory(prefix="rehearse-") as folder, ExitStack() as stack:
            base = Path(folder)
            check = health_check(self.plan.readiness, self.plan.image_files, self.key)
            balancer = Balancer(base, free_port(),
                                max(self.plan.max_replicas, self.settings.replicas)
                                + max(1, self.plan.max_surge), check, self.plan.readiness)
            balancer.start()
            stack.callback(balancer.stop)
            self.say(f"Service: HAProxy on http://127.0.0.1:{balancer.port}; readiness: "
                     f"{check.said}")
            fleet = Fleet(self.plan, self.project, base, self.secrets, balancer)
            stack.callback(fleet.stop_all)
            started = time.monotonic()
            first = [fleet.add() for _ in range(self.settings.replicas)]
            fleet.wait_ready(first)
            self.figures["start"] = {"replicas": len(first),
                                     "seconds_to_all_ready": round(time.monotonic() - started, 2),
                                     "ready_s_median": median([r.ready_s or 0 for r in first])}
            self.say(f"{len(first)} replicas Ready in {self.figures['start']['seconds_to_all_ready']} s")
            self.base_url = f"http://127.0.0.1:{balancer.port}"
            for name in self.settings.operations:
                self._operation(name, fleet, base)
            self.figures["ui_session"] = self._ui_session(fleet)
            fleet.stop_all()
            self.figures["files_written_in_app"] = sorted(fleet.written)
        self.figures["answered_recommendations"] = sum(
            op["answered"] for name, op in self.figures.items()
            if name in OPERATIONS and isinstance(op, dict))
        self.figures["not_shown"] = list(NOT_SHOWN)
        return self.figures

    def _operation(self, name: str, fleet: Fleet, base: Path) -> None:
        paths = [f"/v1/recommendations/{c}" for c in self.settings.customers]
        load_before = os.getloadavg()[0]
        detail: dict[str, Any] = {}
        with Load(self.base_url, paths, self._auth,
                  clients=self.settings.clients, rate=self.settings.rate,
                  bound_s=self.settings.op_bound_s) as load:
            time.sleep(self.settings.settle_s)  # the load running before the operation
            started = time.monotonic()
            if name == "pickup":
                detail = self._pickup(fleet, base)
            elif name == "rollout":
                ready = fleet.rolling_update()
                detail = {"replaced": len(ready), "new_ready_s_median": median(ready)}
            elif name == "scale":
                low = len(fleet.replicas)
                fleet.scale_to(self.plan.max_replicas)
                up = round(time.monotonic() - started, 2)
                fleet.scale_to(low)
                detail = {"from": low, "to": self.plan.max_replicas, "scale_up_s": up}
            elif name == "kill":
                victim = next(iter(fleet.replicas.values()))
                detail = {"killed": victim.pod.name, "ready_again_s": round(fleet.kill(victim), 2)}
            else:
                raise RehearsalFailed(f"unknown operation {name!r}: one of {', '.join(OPERATIONS)}")
            detail["operation_s"] = round(time.monotonic() - started, 2)
            time.sleep(self.settings.settle_s)
        self.figures[name] = {**load.figures.as_dict(), **detail,
                              "load_average_1m": [round(load_before, 2),
                                                  round(os.getloadavg()[0], 2)]}
        self.say(f"{name}: {load.figures.failed} failed of {load.figures.requests} requests "
                 f"({', '.join(f'{k} {v}' for k, v in detail.items())})")

    def _pickup(self, fleet: Fleet, base: Path) -> dict[str, Any]:
        if self.settings.promote is None:
            raise RehearsalFailed("the pickup operation needs --promote VERSION (a registered "
                                  "version of the served model to promote under load)")
        model = self.settings.model or self._served_model(fleet)
        # promoted as a CD job would: the jobs' environment (no API keys), else the server's
        env = next(iter(self.plan.jobs.values())).env if self.plan.jobs else self.plan.server.env
        promote = Container("promote", ["shipyard", "models", "promote", model,
                                        str(self.settings.promote), "--reason",
                                        "shipyard deploy rehearse", "--env", self.plan.env], env)
        code, output = Pod(self.plan, promote, self.project, base, "promote", self.secrets).run(300)
        if code != 0:
            raise RehearsalFailed(f"models promote {model} {self.settings.promote} failed: {output}")
        promoted = time.monotonic()
        pending = {r.slot: r for r in fleet.replicas.values()}
        seen: dict[str, float] = {}
        deadline = promoted + self.settings.op_bound_s
        while pending and time.monotonic() < deadline:
            for slot, replica in list(pending.items()):
                if self._serves(replica.url, model) == self.settings.promote:
                    seen[replica.pod.name] = round(time.monotonic() - promoted, 2)
                    del pending[slot]
            time.sleep(0.1)
        return {"model": model, "version": self.settings.promote,
                "replicas_serving": len(seen), "replicas": len(fleet.replicas),
                "seconds_to_last_replica": max(seen.values(), default=None),
                "pickup_s_median": median(list(seen.values()))}

    def _served_model(self, fleet: Fleet) -> str:
        replica = next(iter(fleet.replicas.values()))
        models = httpx.get(f"{replica.url}/ready", headers=self._auth, timeout=30).json()["models"]
        if len(models) != 1:
            raise RehearsalFailed(f"the server serves {sorted(models)}: name one with --model")
        return str(next(iter(models)))

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def _serves(self, url: str, model: str) -> int | None:
        try:
            return httpx.get(f"{url}/ready", headers=self._auth, timeout=10).json()[
                "models"].get(model)
        except (httpx.HTTPError, ValueError, KeyError):
            return None

    def _ui_session(self, fleet: Fleet) -> dict[str, Any]:
        """Sign in through the balancer; use the session's cookie on every replica."""
        from shipyard.ui.session import sign_in_token

        with httpx.Client(base_url=self.base_url, timeout=30) as browser:
            form = browser.get("/ui/login")
            signed = browser.post("/ui/login", data={"key": self.key,
                                                     "csrf_token": sign_in_token(form.text)})
        cookies = dict(signed.cookies)
        working = 0
        for replica in fleet.replicas.values():
            page = httpx.get(f"{replica.url}/ui/", cookies=cookies, timeout=30)
            working += page.status_code == 200 and "sign out" in page.text.lower()
        return {"signed_in": signed.status_code in (302, 303) and bool(cookies),
                "replicas": len(fleet.replicas), "replicas_where_it_works": working}


def shortfalls(figures: dict[str, Any]) -> list[str]:
    """What the rehearsal showed the deployment falling short of its goal: a failed request in
    any operation but the kill (a killed replica may drop what it had in flight), a replica
    that never served the promoted version, a UI session not honoured by every replica, a file
    written into a replica's read-only root."""
    found = [f"{name}: {op['failed']} of {op['requests']} requests failed"
             for name, op in figures.items()
             if name in OPERATIONS and name != "kill" and isinstance(op, dict) and op["failed"]]
    pickup = figures.get("pickup")
    if pickup and pickup["replicas_serving"] < pickup["replicas"]:
        found.append(f"pickup: {pickup['replicas_serving']} of {pickup['replicas']} replicas "
                     f"served version {pickup['version']}")
    ui = figures.get("ui_session", {})
    if ui and (not ui["signed_in"] or ui["replicas_where_it_works"] < ui["replicas"]):
        found.append(f"UI session: works on {ui['replicas_where_it_works']} of "
                     f"{ui['replicas']} replicas" + ("" if ui["signed_in"] else
                                                     " (signing in failed)"))
    if figures.get("files_written_in_app"):
        found.append(f"files written in a replica's /app: {figures['files_written_in_app']}")
    return found
