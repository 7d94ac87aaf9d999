"""POST /reload with a model file that parses but is absurd: 409, and the old model serves on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from safetensors.numpy import load_file
from safetensors.numpy import save as save_safetensors

from tests.counts import count
from tests.serving.conftest import StartServer
from unrated.modelfile import load_model, read_metadata, seal

pytestmark = pytest.mark.server
KEY = "s3cret-key"

ABSURD = {
    "params": '{"neighbors": ' + "9" * 5000 + "}",
    "format": "unrated/" + "9" * 5000,
}


def test_reload_with_absurd_metadata_is_409(
    start_server: StartServer, knn_model_file: Path, tmp_path: Path
) -> None:
    served = tmp_path / "served.unrated"
    shutil.copyfile(knn_model_file, served)
    server = start_server(served, "--api-key", KEY)
    arrays, metadata = load_file(knn_model_file), read_metadata(knn_model_file)
    user = str(load_model(knn_model_file).users_.ids[0])
    deep = "[" * 10_000 + "]" * 10_000
    with server.client(**{"X-API-Key": KEY}) as client:
        for field, value in [*ABSURD.items(), ("params", deep)]:
            changed = metadata | {field: value, "checksum": "0" * 32}
            served.write_bytes(seal(save_safetensors(arrays, metadata=changed)))
            reply = client.post("/reload")
            assert reply.status_code == 409, reply.text
            assert reply.json()["error"] == "ModelFileError"
            assert f"metadata field '{field}'" in reply.json()["detail"]
            assert client.get("/recommend", params={"user": user}).status_code == 200
            assert client.get("/health").json()["generation"] == 1
            count("requests: reload with absurd metadata")
