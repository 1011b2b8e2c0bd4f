"""The image's files come from Jinja2 templates (shipyard/deploy/templates/) and are byte for
byte what the f-strings before them wrote, for the shipped examples and a project of servers
(tests/unit/deploy/expected/, rendered by the code before the templates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.deploy.image import DOCKERIGNORE, dockerfile, entrypoint, probe
from tests.unit.deploy.image_examples import NAMES, example_config

EXPECTED = Path(__file__).parent / "expected"


@pytest.mark.parametrize("name", NAMES)
def test_the_dockerfile_is_what_it_was_before_its_template(name: str) -> None:
    written = dockerfile(example_config(name)).encode()

    assert written == (EXPECTED / name / "Dockerfile").read_bytes()


def test_the_entrypoint_probe_and_dockerignore_are_what_they_were_before_their_templates() -> None:
    assert entrypoint().encode() == (EXPECTED / "entrypoint.sh").read_bytes()
    assert probe().encode() == (EXPECTED / "probe").read_bytes()
    assert DOCKERIGNORE.encode() == (EXPECTED / "dockerignore").read_bytes()
