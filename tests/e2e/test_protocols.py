"""The protocols teams' clients already speak, spoken by those clients to ``shipyard serve``:
the Open Inference Protocol (V2) by ``tritonclient.http`` and KServe's ``InferenceRESTClient``,
MLflow's scoring protocol (``/invocations``) with every payload format built as MLflow's own
client builds it. Each answer must be the predict route's own (same batcher, same model), be
logged in the prediction log, and follow a promotion without a restart; errors are each
protocol's own shape.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from deltalake import DeltaTable
from fastapi.testclient import TestClient
from mlflow.utils.proto_json_utils import _CustomJsonEncoder, dump_input_data
from tritonclient.utils import InferenceServerException

from shipyard.project import Project
from shipyard.serving import ApiKeys, create_app
from tests.e2e.cli import run
from tests.e2e.examples import ExampleProjects
from tests.e2e.server import AUTH, KEY, PATIENCE_S, http, serving, wait_for

REPO = Path(__file__).resolve().parents[2]
KSERVE = REPO / ".venv-kserve" / "bin" / "python"
# Ages no other test sends: the prediction log is searched for them.
V2_ROWS = [{"pclass": "1st", "sex": "female", "age": 31.25, "sibsp": 0, "parch": 0},
           {"pclass": "3rd", "sex": "male", "age": None, "sibsp": 1, "parch": 2}]
MLFLOW_ROWS = [{"pclass": "2nd", "sex": "female", "age": 33.75, "sibsp": 1, "parch": 0},
               {"pclass": "3rd", "sex": "male", "age": None, "sibsp": 0, "parch": 0}]
_NUMPY = {"FP64": np.float64, "INT64": np.int64, "BYTES": np.object_, "BOOL": np.bool_}


@pytest.fixture
def titanic(tmp_path: Path, example_projects: ExampleProjects) -> Path:
    """Titanic with two gate-passing versions, version 1 in production (a test may promote)."""
    return example_projects.copy("titanic-two-versions", tmp_path / "titanic")


def reference(base: str, rows: list[dict[str, Any]]) -> list[float]:
    """The probabilities Shipyard's own predict route answers for ``rows``."""
    answer = http.post(f"{base}/v1/models/titanic/predict", json={"rows": rows}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    return [p["probability"] for p in answer.json()["predictions"]]


def tensors(metadata: dict[str, Any], rows: list[dict[str, Any]]) -> list[triton.InferInput]:
    """One tensor per input the model's metadata names, typed as it says (None → NaN)."""
    made = []
    for spec in metadata["inputs"]:
        values = [math.nan if r[spec["name"]] is None else r[spec["name"]] for r in rows]
        tensor = triton.InferInput(spec["name"], [len(rows)], spec["datatype"])
        tensor.set_data_from_numpy(np.array(values, dtype=_NUMPY[spec["datatype"]]),
                                   binary_data=False)
        made.append(tensor)
    return made


def logged_ages(root: Path) -> set[float]:
    table = DeltaTable(str(root / "lake" / "monitoring" / "predictions" / "titanic")).to_pandas()
    return set(table["age"].dropna())


def test_tritonclient_speaks_v2_to_shipyard(titanic: Path) -> None:
    with serving(titanic, "--poll", "0.3") as base:
        client = triton.InferenceServerClient(base.removeprefix("http://"),
                                              connection_timeout=PATIENCE_S,
                                              network_timeout=PATIENCE_S)
        assert client.is_server_live(headers=AUTH) and client.is_server_ready(headers=AUTH)
        assert client.is_model_ready("titanic", headers=AUTH)
        assert client.get_server_metadata(headers=AUTH)["name"] == "shipyard"
        metadata = client.get_model_metadata("titanic", headers=AUTH)
        assert metadata["versions"] == ["1"]
        assert {i["name"]: i["datatype"] for i in metadata["inputs"]} == {
            "pclass": "BYTES", "sex": "BYTES", "age": "FP64", "sibsp": "INT64",
            "parch": "INT64"}
        wanted = [triton.InferRequestedOutput(n, binary_data=False)
                  for n in ("probability", "prediction")]
        result = client.infer("titanic", tensors(metadata, V2_ROWS), outputs=wanted,
                              request_id="triton-1", headers=AUTH)
        expected = reference(base, V2_ROWS)
        assert result.as_numpy("probability").tolist() == pytest.approx(expected)
        assert result.as_numpy("prediction").tolist() == [int(p >= 0.5) for p in expected]
        assert result.get_response()["model_version"] == "1"
        assert result.get_response()["id"] == "triton-1"
        pinned = client.infer("titanic", tensors(metadata, V2_ROWS[:1]), model_version="1",
                              outputs=wanted[:1], headers=AUTH)
        assert pinned.as_numpy("prediction") is None  # only what was asked for
        assert pinned.as_numpy("probability").tolist() == pytest.approx(expected[:1])

        def refused(**call: Any) -> InferenceServerException:
            with pytest.raises(InferenceServerException) as raised:
                client.infer(**{"model_name": "titanic", "headers": AUTH,
                                "inputs": tensors(metadata, V2_ROWS), **call})
            return raised.value

        unknown = refused(model_name="nope")
        assert unknown.status() == "404" and "titanic" in unknown.message()
        other = refused(model_version="2")
        assert other.status() == "404" and "production version, 1" in other.message()
        assert refused(headers={}).status() == "401"
        typed = [t if t.name() != "sex" else triton.InferInput("sex", [2], "FP64")
                 for t in tensors(metadata, V2_ROWS)]
        typed[[t.name() for t in typed].index("sex")].set_data_from_numpy(
            np.array([1.0, 2.0]), binary_data=False)
        wrong = refused(inputs=typed)
        assert wrong.status() == "400" and "'sex' is FP64" in wrong.message()
        lacking = refused(inputs=[t for t in tensors(metadata, V2_ROWS) if t.name() != "sex"])
        assert lacking.status() == "400" and "sex" in lacking.message()
        unseen = refused(inputs=tensors(metadata, [{**V2_ROWS[0], "pclass": "9th"}]))
        assert unseen.status() == "400" and "pclass" in unseen.message()
        assert "9th" in unseen.message()
        # hot swap: a promotion is followed without a restart, the answer naming the version
        run("models", "promote", "titanic", "2", "--reason", "v2 protocol swap", cwd=titanic)
        wait_for(lambda: client.infer("titanic", tensors(metadata, V2_ROWS), headers=AUTH
                                      ).get_response()["model_version"] == "2",
                 "V2 infer answered by version 2")
        assert client.get_model_metadata("titanic", headers=AUTH)["versions"] == ["2"]
    assert {31.25} <= logged_ages(titanic)  # V2's rows are in the prediction log


def test_kserve_rest_client_speaks_v2_to_shipyard(titanic: Path, tmp_path: Path) -> None:
    if not KSERVE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{KSERVE} is missing: run 'make kserve'")
        pytest.skip("KServe's SDK is not installed: run 'make kserve'")
    with serving(titanic) as base:
        metadata = http.get(f"{base}/v2/models/titanic", headers=AUTH).json()
        columns = [{"name": spec["name"], "datatype": spec["datatype"],
                    "data": [r[spec["name"]] if r[spec["name"]] is not None else math.nan
                             for r in V2_ROWS]} for spec in metadata["inputs"]]
        spec = tmp_path / "request.json"
        spec.write_text(json.dumps({"headers": AUTH, "columns": columns}))
        done = subprocess.run([str(KSERVE), str(Path(__file__).with_name("kserve_infer.py")),
                               base, "titanic", str(spec)], capture_output=True, text=True,
                              timeout=PATIENCE_S, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        answer, *errors = [json.loads(line) for line in done.stdout.splitlines()]
        expected = reference(base, V2_ROWS)
    assert answer["model_name"] == "titanic" and answer["id"]  # Shipyard's request id
    assert answer["outputs"]["probability"] == pytest.approx(expected)
    assert answer["outputs"]["prediction"] == [int(p >= 0.5) for p in expected]
    said = {e["case"]: (e["status"], e.get("message", "")) for e in errors}
    assert said["unknown model"][0] == 404 and "served: titanic" in said["unknown model"][1]
    assert said["no key"][0] == 401 and "API key" in said["no key"][1]
    assert said["wrong datatype"][0] == 400 and "takes BYTES" in said["wrong datatype"][1]


def mlflow_payloads(rows: list[dict[str, Any]]) -> dict[str, str]:
    """Each of the four formats, serialised as MLflow's scoring client does it (its
    ``dump_input_data``, which ``mlflow models predict`` and ``ScoringServerClient`` use,
    and its JSON encoder for records): pandas' missing values go as NaN."""
    frame = pd.DataFrame(rows)
    records = frame.to_dict(orient="records")
    return {
        "dataframe_split": dump_input_data(frame),
        "dataframe_records": json.dumps({"dataframe_records": records}, cls=_CustomJsonEncoder),
        "instances": dump_input_data(records, inputs_key="instances"),
        "inputs": dump_input_data(frame.to_numpy()),  # rows as lists, in column order
    }


def test_invocations_take_every_mlflow_payload(titanic: Path) -> None:
    with serving(titanic, "--poll", "0.3") as base:
        ping = http.get(f"{base}/ping")  # no key, as load balancers probe MLflow's
        assert ping.status_code == 200
        expected = [int(p >= 0.5) for p in reference(base, MLFLOW_ROWS)]
        payloads = mlflow_payloads(MLFLOW_ROWS)
        assert "NaN" in payloads["dataframe_split"]  # MLflow sends a missing value as NaN
        json_type = {"Content-Type": "application/json"}
        for name, body in payloads.items():
            answer = http.post(f"{base}/invocations", content=body, headers={**AUTH, **json_type})
            assert answer.status_code == 200, (name, answer.text)
            assert answer.json() == {"predictions": expected}, name
        columns = {k: [r[k] for r in MLFLOW_ROWS] for k in MLFLOW_ROWS[0]}
        answer = http.post(f"{base}/invocations", json={"inputs": columns}, headers=AUTH)
        assert answer.json() == {"predictions": expected}

        def refused(body: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
            answer = http.post(f"{base}/invocations", content=body,
                               headers={**AUTH, **json_type} if headers is None else headers)
            return answer.status_code, answer.json()

        status, said = refused(payloads["instances"], json_type)
        assert status == 401 and said["error_code"] == "UNAUTHENTICATED"
        status, said = refused(json.dumps({"instances": MLFLOW_ROWS,
                                           "inputs": MLFLOW_ROWS}))
        assert status == 400 and said["error_code"] == "BAD_REQUEST"
        assert "exactly one of dataframe_split" in said["message"]
        status, said = refused(json.dumps({"dataframe_records": [
            {**MLFLOW_ROWS[0], "sex": "unknown"}]}))
        assert status == 400 and "row 0, sex" in said["message"]
        status, said = refused("{not json")
        assert status == 400 and said["error_code"] == "BAD_REQUEST"
        run("models", "promote", "titanic", "2", "--reason", "invocations swap", cwd=titanic)
        wait_for(lambda: http.get(f"{base}/ready", headers=AUTH).json()["models"] == {
            "titanic": 2}, "version 2 served")
        assert http.post(f"{base}/invocations", content=payloads["dataframe_split"],
                         headers={**AUTH, **json_type}).status_code == 200
    assert {33.75} <= logged_ages(titanic)  # /invocations' rows are in the prediction log


def test_invocations_model_setting_names_the_setting(titanic: Path) -> None:
    project = Project.open(titanic, "dev")
    config = project.config.serving.model_copy(update={"invocations_model": "nope"})
    with TestClient(create_app(project, ApiKeys([KEY]), config), headers=AUTH) as client:
        wait_for(lambda: client.get("/ready").status_code == 200, "models loaded")
        answer = client.post("/invocations", json={"dataframe_records": MLFLOW_ROWS})
        assert answer.status_code == 404
        assert "serving.invocations_model" in answer.json()["message"]
        assert "served: titanic" in answer.json()["message"]
        assert client.get("/ping").status_code == 404


def test_both_protocols_are_in_the_openapi_document(titanic: Path) -> None:
    client = TestClient(create_app(Project.open(titanic, "dev"), ApiKeys([KEY])), headers=AUTH)
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v2", "/v2/health/live", "/v2/health/ready", "/v2/models/{name}",
                 "/v2/models/{name}/ready", "/v2/models/{name}/versions/{version}/infer"):
        assert "get" in paths[path] or path.endswith("/infer"), path
    infer = paths["/v2/models/{name}/versions/{version}/infer"]["post"]
    assert {"200", "400", "401", "404"} <= set(infer["responses"])
    assert "requestBody" in infer
    assert {p["name"] for p in infer["parameters"] if p["in"] == "path"} == {"name", "version"}
    invocations = paths["/invocations"]["post"]
    body = invocations["requestBody"]["content"]["application/json"]["schema"]
    assert [b["required"] for b in body["oneOf"]] == [
        ["dataframe_split"], ["dataframe_records"], ["instances"], ["inputs"]]
    assert "get" in paths["/ping"]
