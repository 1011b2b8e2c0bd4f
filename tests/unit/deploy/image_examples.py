"""Projects whose image files the templates must write as the f-strings before them did
(tests/unit/deploy/expected/<name>/ holds what those wrote): the two shipped examples, and one
with a base of its own, another UID and port, and every store a server (no folder to create)."""

from __future__ import annotations

from importlib import resources

import yaml

from shipyard.config.load import load_config, parse_config
from shipyard.config.schema import ProjectConfig

SERVERS = """\
project: Remote_Shop
environments:
  prod:
    lake: s3://bucket/lake
    state: s3://bucket/state
    metadata_db: postgresql://db.example.com/meta
    results_db: postgresql://db.example.com/results
    tracking_uri: http://mlflow.example.com
tables: {}
deploy:
  image: registry.example.com/team/remote
  tag: "2.0"
  base: registry.example.com/python:3.12@sha256:0123
  uid: 20001
  port: 9000
"""

NAMES = ("recommender", "servers", "titanic")


def example_config(name: str) -> ProjectConfig:
    if name == "servers":
        return parse_config(yaml.safe_load(SERVERS))
    with resources.as_file(resources.files("shipyard.examples") / name) as folder:
        return load_config(folder)
