"""The Deployment's replicas behind the balancer, and the strategy the manifests declare.

A replica is a :class:`~shipyard.deploy.rehearse.pods.Pod` of the server container on a port
of its own (a pod has an address of its own; ``SHIPYARD_PORT`` is the one value changed) in a
slot of the balancer. Starting one enables its slot, not Ready: the readiness checks decide.
Stopping one is what Kubernetes does to a terminating pod: the endpoint removed (the slot set
to drain), the preStop ``sleep``, SIGTERM, SIGKILL after the grace period. A rolling update
is, while old replicas are left, ``maxSurge`` new ones started and Ready, then as many old ones
stopped, never fewer Ready than wanted (``maxUnavailable: 0``). A replica killed with -9 is
restarted in the same pod (``restartPolicy: Always``), not Ready until its checks pass.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from shipyard.deploy.rehearse.haproxy import Balancer
from shipyard.deploy.rehearse.manifests import Plan
from shipyard.deploy.rehearse.pods import Pod
from shipyard.errors import RehearsalFailed

__all__ = ["Fleet", "Replica"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Replica:
    slot: int
    port: int
    pod: Pod
    generation: int
    started: float
    ready_s: float | None = None  # seconds from start to Ready

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Fleet:
    """The replicas of the plan's server in ``balancer``'s slots; pods' folders under ``base``."""

    def __init__(self, plan: Plan, project: Path, base: Path, secrets: dict[str, str],
                 balancer: Balancer, ready_bound_s: float = 300.0) -> None:
        self.plan = plan
        self.project = project
        self.base = base
        self.secrets = secrets
        self.balancer = balancer
        self.ready_bound_s = ready_bound_s
        self.replicas: dict[int, Replica] = {}
        self.generation = 1
        self.started = 0
        self.written: set[str] = set()  # files replicas wrote in their app/ (none, at team scale)

    def add(self) -> Replica:
        """Start one replica in a free slot (not Ready until its checks pass)."""
        slot = next(n for n in range(1, self.balancer.slots + 1) if n not in self.replicas)
        port = free_port()
        self.started += 1
        pod = Pod(self.plan, self.plan.server, self.project, self.base,
                  f"replica{self.started}", self.secrets, env={"SHIPYARD_PORT": str(port)})
        pod.start()
        replica = Replica(slot, port, pod, self.generation, time.monotonic())
        self.replicas[slot] = replica
        self.balancer.enable(slot, port)
        return replica

    def wait_ready(self, replicas: list[Replica]) -> None:
        """Until the balancer's checks have each of ``replicas`` UP."""
        deadline = time.monotonic() + self.ready_bound_s
        waiting = list(replicas)
        while waiting:
            states = self.balancer.states()
            for replica in list(waiting):
                if not replica.pod.alive:
                    raise RehearsalFailed(f"{replica.pod.name} exited before it was Ready: "
                                          f"{replica.pod.output()[-2000:]}")
                if states.get(replica.slot, ("",))[0] == "UP":
                    replica.ready_s = time.monotonic() - replica.started
                    waiting.remove(replica)
            if waiting and time.monotonic() > deadline:
                names = ", ".join(r.pod.name for r in waiting)
                raise RehearsalFailed(f"{names} not Ready within {self.ready_bound_s:.0f} s: "
                                      f"{waiting[0].pod.output()[-2000:]}")
            time.sleep(0.1)

    def scale_to(self, count: int) -> None:
        """Start replicas up to ``count`` and wait until Ready, or stop those beyond it (the
        newest first, together, as the ReplicaSet does)."""
        if count > len(self.replicas):
            self.wait_ready([self.add() for _ in range(count - len(self.replicas))])
            return
        doomed = sorted(self.replicas.values(), key=lambda r: r.started)[count:]
        self._stop_all(doomed)

    def stop(self, replica: Replica) -> None:
        """Terminate one as Kubernetes does: endpoint removed, preStop, SIGTERM, grace."""
        self.balancer.drain(replica.slot)
        time.sleep(self.plan.pre_stop_s)
        replica.pod.terminate(self.plan.grace_s)
        self.balancer.disable(replica.slot)
        self.written |= {f"{replica.pod.name}/{f}" for f in replica.pod.written()}
        del self.replicas[replica.slot]

    def _stop_all(self, replicas: list[Replica]) -> None:
        threads = [threading.Thread(target=self.stop, args=(r,)) for r in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def rolling_update(self) -> list[float]:
        """Replace every replica by a new one; the seconds each new one took to be Ready."""
        self.generation += 1
        surge = max(1, self.plan.max_surge)
        ready: list[float] = []
        while old := sorted((r for r in self.replicas.values()
                             if r.generation < self.generation), key=lambda r: r.started):
            new = [self.add() for _ in range(min(surge, len(old)))]
            self.wait_ready(new)
            ready += [r.ready_s or 0.0 for r in new]
            self._stop_all(old[:len(new)])
        return ready

    def kill(self, replica: Replica) -> float:
        """SIGKILL one replica's processes; the kubelet restarts its container in the same pod.
        Returns the seconds until it is Ready again."""
        replica.pod.kill()
        replica.pod.start()
        replica.started = time.monotonic()
        self.balancer.enable(replica.slot, replica.port)  # the kubelet reports it not Ready
        self.wait_ready([replica])
        return replica.ready_s or 0.0

    def stop_all(self) -> None:
        self._stop_all(list(self.replicas.values()))


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None
