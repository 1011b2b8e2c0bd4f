"""``shipyard deploy rehearse``: an environment's rendered manifests run as processes.

No Kubernetes API server runs here, so the deployment is rehearsed with the parts that can:
the server container's own command and environment as replica processes, each in an empty
folder (:mod:`.pods`, :mod:`.manifests`); the Service as HAProxy with the readiness probe as
its health check (:mod:`.haproxy`); the Deployment's strategy and the HPA's bounds
(:mod:`.fleet`); CronJobs run once (:mod:`.jobs`); operations under load and their figures
(:mod:`.load`, :mod:`.rehearsal`). It adds nothing the manifests do not say, and says what it
cannot show (:data:`NOT_SHOWN`).
"""

from shipyard.deploy.rehearse.manifests import Plan, read_plan
from shipyard.deploy.rehearse.rehearsal import (
    NOT_SHOWN,
    OPERATIONS,
    Rehearsal,
    Settings,
    shortfalls,
)

__all__ = ["NOT_SHOWN", "OPERATIONS", "Plan", "Rehearsal", "Settings", "read_plan", "shortfalls"]
