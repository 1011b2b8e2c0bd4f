"""Deploy: the project as an image, Kubernetes manifests and CI/CD workflows, checked offline.

Pure functions from ``shipyard.yaml`` to text (``build``), and checks of that text against
Kubernetes' and GitHub's schemas and Shipyard's policies (``validate``).
"""

from shipyard.deploy.build import Written, build_deploy
from shipyard.deploy.validate import ValidationReport, validate_deploy

__all__ = ["ValidationReport", "Written", "build_deploy", "validate_deploy"]
