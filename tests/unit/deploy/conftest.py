"""A small project with two environments, its deploy/ built once per test."""

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
  prod:
    lake: s3://bucket/demo
    metadata_db: ${DEMO_DB}
    tracking_uri: ${DEMO_TRACKING:-sqlite:///tracking.db}
    results_db: ${DEMO_DB}
sources:
  erp:
    url: ${ERP_URL:-sqlite:///erp.db}   # ${NOT_A_VAR} in a comment is not one
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
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("DEMO_DB", "postgresql+psycopg://shop@db/shop")
    (tmp_path / "shipyard.yaml").write_text(CONFIG)
    project = Project.open(tmp_path, "dev")
    build_deploy(project)
    return project
