"""Run by tests/e2e/test_protocols.py with KServe's SDK in its own venv (.venv-kserve, see
tests/kserve.txt): V2 inference over REST with ``InferenceRESTClient``, as a KServe user sends it.

    python kserve_infer.py BASE_URL MODEL REQUEST.json

REQUEST.json: ``{"headers": {...}, "columns": [{"name", "datatype", "data"}, ...]}``. Prints one
JSON line per call: the infer answer (model name, id, outputs) and the errors of the same
request to an unknown model, without the key and with a wrong datatype.
"""

import asyncio
import json
import sys

import httpx
from kserve import InferenceRESTClient, RESTConfig
from kserve.protocol.infer_type import InferInput, InferRequest


def say(line: dict) -> None:
    sys.stdout.write(json.dumps(line) + "\n")


def request(model: str, columns: list[dict]) -> InferRequest:
    inputs = [InferInput(name=c["name"], shape=[len(c["data"])], datatype=c["datatype"],
                         data=c["data"]) for c in columns]
    return InferRequest(model_name=model, infer_inputs=inputs)


async def main(base: str, model: str, spec: dict) -> None:
    client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=300, retries=0))
    headers, columns = spec["headers"], spec["columns"]
    answer = await client.infer(base, request(model, columns), model_name=model,
                                headers=dict(headers))
    # (its from_bytes keeps no model_version: the test reads the version elsewhere)
    say({"model_name": answer.model_name, "id": answer.id,
         "outputs": {o.name: o.as_numpy().tolist() for o in answer.outputs}})
    bad = [{**c, "datatype": "FP64", "data": [1.0] * len(c["data"])}
           if c["datatype"] == "BYTES" else c for c in columns]
    for what, name, sent, wanted in (("unknown model", "no-such-model", columns, headers),
                                     ("no key", model, columns, {}),
                                     ("wrong datatype", model, bad, headers)):
        try:
            await client.infer(base, request(name, sent), model_name=name, headers=dict(wanted))
            say({"case": what, "status": 200})
        except httpx.HTTPStatusError as error:
            say({"case": what, "status": error.response.status_code, "message": str(error)})
    await client.close()


if __name__ == "__main__":
    with open(sys.argv[3]) as file:
        asyncio.run(main(sys.argv[1], sys.argv[2], json.load(file)))
