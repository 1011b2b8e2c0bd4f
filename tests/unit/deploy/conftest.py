"""A small project: a one-machine ``dev`` and two cluster environments (``staging`` and
``prod``, every store a server by a required variable), its deploy/ built once per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.deploy import build_deploy
from shipyard.project import Project

CONFIG = """\
project: demo_shop
environments:
  dev:
    lake: lake
  staging:
    lake: s3://bucket/staging
    state: s3://bucket/staging-state
    metadata_db: ${STAGING_DB}
    results_db: ${STAGING_DB}
    tracking_uri: ${DEMO_TRACKING}
    sources:
      erp: {url: "${ERP_URL}"}
  prod:
    lake: s3://bucket/demo
    state: ${DEMO_STATE}
    metadata_db: ${DEMO_DB}
    tracking_uri: ${DEMO_TRACKING}
    results_db: ${DEMO_DB}
    dask_address: ${DASK_SCHEDULER_ADDRESS}
    sources:
      erp: {url: "${ERP_URL}"}
sources:
  erp:
    url: ${ERP_URL:-sqlite:///erp.db}   # ${NOT_A_VAR} in a comment is not one
alerts:
  webhooks: [{name: team, kind: json, url: "${DEMO_HOOK:-http://hooks.example.com/x}"}]
tables:
  orders: {source: erp, table: orders}
pipelines:
  train: {function: "pipeline:train"}
  nightly: {function: "pipeline:nightly", schedule: "0 4 * * *"}
models:
  demo: {pipeline: train, primary_metric: accuracy, gate: {accuracy: ">= 0.5"}}
deploy:
  image: registry.example.com/team/demo
  tag: "1.2.3"
  ci_setup: ["python make_source.py"]
  environments:
    prod:
      ingress_host: demo.example.com
      autoscaling: {min: 4, max: 8, cpu: 60}
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "shipyard.yaml").write_text(CONFIG)
    project = Project.open(tmp_path, "dev")
    build_deploy(project)
    return project
