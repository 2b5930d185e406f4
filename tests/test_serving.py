"""The local TF-Serving-compatible server, called with a real HTTP client and the official stub."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

import keras_dl
from keras_dl import export
from keras_dl.export import export_saved_model
from keras_dl.serving import ModelRepository, ModelServer, ServableNotFound


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("saved_models")
    model = keras_dl.create_model("lenet5", input_shape=(28, 28, 1), num_classes=10, modern=True)
    export_saved_model(model, base, "lenet5", 1)
    return base, model


# scripts/mutation.py sets "function": mutmut runs, for a mutant, only the tests that called the
# mutated function, and a module-scoped server is started inside the first test that asks for it
SERVER_SCOPE = os.environ.get("KERAS_DL_SERVER_FIXTURE_SCOPE", "module")


@pytest.fixture(scope=SERVER_SCOPE)
def server(exported):
    base, _ = exported
    with ModelServer(base, rest_port=0, grpc_port=0, max_request_bytes=2_000_000) as running:
        yield running


def http(server, method, path, body=None, raw=None):
    url = f"http://127.0.0.1:{server.rest_port}{path}"
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def images(count, seed=0):
    return np.random.default_rng(seed).random((count, 28, 28, 1), dtype="float32")


def test_rest_status_and_metadata(server):
    status, body = http(server, "GET", "/v1/models/lenet5")
    assert status == 200
    assert body == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    ]}
    status, body = http(server, "GET", "/v1/models/lenet5/versions/1/metadata")
    assert status == 200
    signature = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert "images" in signature["inputs"] and "probabilities" in signature["outputs"]


def test_rest_predict_row_and_columnar_formats_match_keras(server, exported):
    _, model = exported
    x = images(3)
    expected = np.asarray(model(x))
    status, body = http(server, "POST", "/v1/models/lenet5:predict", {"instances": x.tolist()})
    assert status == 200
    np.testing.assert_allclose(body["predictions"], expected, atol=1e-5)
    status, body = http(server, "POST", "/v1/models/lenet5/versions/1:predict",
                        {"inputs": {"images": x.tolist()}})
    assert status == 200
    np.testing.assert_allclose(body["outputs"], expected, atol=1e-5)
    status, body = http(server, "POST", "/v1/models/lenet5:predict",
                        {"instances": [{"images": row} for row in x.tolist()]})
    np.testing.assert_allclose(body["predictions"], expected, atol=1e-5)


@pytest.mark.parametrize(
    "method, path, payload, status_code, fragment",
    [
        ("GET", "/v1/models/nosuch", None, 404, "Servable not found for request: Latest(nosuch)"),
        ("POST", "/v1/models/nosuch:predict", {"instances": [[0.0]]}, 404, "Latest(nosuch)"),
        ("POST", "/v1/models/lenet5/versions/9:predict", {"instances": [[0.0]]}, 404,
         "Specific(lenet5, 9)"),
        ("POST", "/v1/models/lenet5:predict", {"instances": [[1.0, 2.0]]}, 400, "does not fit"),
        ("POST", "/v1/models/lenet5:predict", {"rows": []}, 400, "Missing 'inputs' or 'instances'"),
        ("POST", "/v1/models/lenet5:predict", {"inputs": {"pixels": [[0]]}}, 400,
         "do not match the signature's input \"images\""),
        ("POST", "/v1/models/lenet5:predict", {"instances": [[["a"]]]}, 400, "numeric"),
        ("POST", "/v1/models/lenet5:predict",
         {"signature_name": "classify", "instances": [[0.0]]}, 400, "\"classify\" not found"),
        ("POST", "/v1/models/lenet5/versions/x:predict", {"instances": [[0.0]]}, 400,
         "version must be a non-negative integer"),
        ("GET", "/v2/anything", None, 404, "Malformed request"),
    ],
)
def test_rest_errors_come_back_like_tf_serving(server, method, path, payload, status_code,
                                               fragment):
    status, body = http(server, method, path, payload)
    assert status == status_code
    assert set(body) == {"error"} and fragment in body["error"]
    assert http(server, "GET", "/v1/models/lenet5")[0] == 200  # still serving


def test_rest_malformed_json_and_oversized_payload(server):
    status, body = http(server, "POST", "/v1/models/lenet5:predict", raw=b"{not json")
    assert status == 400 and body["error"].startswith("JSON Parse error")
    status, body = http(server, "POST", "/v1/models/lenet5:predict", raw=b" " * 3_000_000)
    assert status == 413 and "larger than the server's limit" in body["error"]
    assert http(server, "POST", "/v1/models/lenet5:predict",
                {"instances": images(1).tolist()})[0] == 200


def test_grpc_predict_metadata_and_status_with_the_official_stubs(server, exported):
    _, model = exported
    x = images(2, seed=1)
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "lenet5"
        request.model_spec.signature_name = "serving_default"
        request.inputs["images"].CopyFrom(tf.make_tensor_proto(x))
        response = stub.Predict(request, timeout=60)
        np.testing.assert_allclose(tf.make_ndarray(response.outputs["probabilities"]),
                                   model(x), atol=1e-5)
        assert response.model_spec.version.value == 1

        metadata_request = get_model_metadata_pb2.GetModelMetadataRequest()
        metadata_request.model_spec.name = "lenet5"
        metadata_request.metadata_field.append("signature_def")
        metadata = stub.GetModelMetadata(metadata_request, timeout=60)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        metadata.metadata["signature_def"].Unpack(signatures)
        assert "images" in signatures.signature_def["serving_default"].inputs

        status_request = get_model_status_pb2.GetModelStatusRequest()
        status_request.model_spec.name = "lenet5"
        status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status_request)
        assert [s.version for s in status.model_version_status] == [1]

        bad = predict_pb2.PredictRequest()
        bad.model_spec.name = "nosuch"
        bad.inputs["images"].CopyFrom(tf.make_tensor_proto(x))
        with pytest.raises(grpc.RpcError) as error:
            stub.Predict(bad, timeout=60)
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
        wrong = predict_pb2.PredictRequest()
        wrong.model_spec.name = "lenet5"
        wrong.inputs["images"].CopyFrom(tf.make_tensor_proto(np.zeros((2, 5), "float32")))
        with pytest.raises(grpc.RpcError) as error:
            stub.Predict(wrong, timeout=60)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "does not fit" in error.value.details()
        assert stub.Predict(request, timeout=60).outputs["probabilities"].tensor_shape.dim[0].size == 2


def test_new_versions_are_served_without_a_restart(tmp_path):
    first = keras_dl.create_model("mlp", input_shape=(4,), hidden_units=(3,), num_classes=2)
    export_saved_model(first, tmp_path, "m", 1)
    x = np.ones((1, 4), "float32")
    with ModelServer(tmp_path, rest_port=0, grpc_port=None) as server:
        status, body = http(server, "POST", "/v1/models/m:predict", {"instances": x.tolist()})
        np.testing.assert_allclose(body["predictions"], first(x), atol=1e-6)
        second = keras_dl.create_model("mlp", input_shape=(4,), hidden_units=(3,), num_classes=2)
        export_saved_model(second, tmp_path, "m", 2)
        status, body = http(server, "POST", "/v1/models/m:predict", {"instances": x.tolist()})
        np.testing.assert_allclose(body["predictions"], second(x), atol=1e-6)
        assert [s["version"] for s in http(server, "GET", "/v1/models/m")[1][
            "model_version_status"]] == ["2", "1"]


def _tiny_mlp():
    return keras_dl.create_model("mlp", input_shape=(4,), hidden_units=(3,), num_classes=2)


def test_the_least_recently_used_model_is_unloaded_and_reloaded_on_demand(tmp_path, monkeypatch):
    """Catches unloading by load order instead of use, no unloading, and a reload that serves
    another model's weights."""
    import keras_dl.serving.repository as repository

    loads = []

    class CountedLoads(repository.ServedModel):
        def __init__(self, path):
            super().__init__(path)
            loads.append(self.path.parent.name)

    monkeypatch.setattr(repository, "ServedModel", CountedLoads)
    models = {name: _tiny_mlp() for name in "abc"}
    for name, model in models.items():
        export_saved_model(model, tmp_path, name, 1)
    repo = ModelRepository(tmp_path, max_loaded=2)
    x = np.random.default_rng(0).random((3, 4), dtype="float32")

    a = repo.get("a")[1]
    b = repo.get("b")[1]
    assert repo.get("a")[1] is a  # a is used again: b is now the least recently used
    c = repo.get("c")[1]  # one too many: b goes, not a (the first loaded)
    assert loads == ["a", "b", "c"]
    assert repo.get("a")[1] is a and repo.get("c")[1] is c and loads == ["a", "b", "c"]
    version, reloaded = repo.get("b")  # b comes back on demand; a, the least recent, goes
    assert version == 1 and reloaded is not b and loads == ["a", "b", "c", "b"]
    for name, served in (("b", reloaded), ("c", repo.get("c")[1])):
        np.testing.assert_allclose(served(x)["probabilities"], models[name](x), atol=1e-6)
    assert loads == ["a", "b", "c", "b"]
    np.testing.assert_allclose(repo.get("a")[1](x)["probabilities"], models["a"](x), atol=1e-6)
    assert loads == ["a", "b", "c", "b", "a"]


def test_staging_and_incomplete_version_folders_are_never_served(tmp_path, monkeypatch):
    """Catches serving an export while it is staged (`.tmp-*`), a version folder without
    saved_model.pb, a hidden model folder, and a listing that crashes on a stray `²` folder."""
    first, second = _tiny_mlp(), _tiny_mlp()
    export_saved_model(first, tmp_path, "m", 1)
    repo = ModelRepository(tmp_path)
    seen = []
    verify = export.saved_model.verify_saved_model

    def look_while_staged(path, model, *args, **kwargs):  # the SavedModel is complete here
        name, version = path.parent.name, 2 if path.parent.name == "m" else 1
        assert (path / "saved_model.pb").is_file()
        seen.append((name, repo.versions(name), repo.model_names()))
        with pytest.raises(ServableNotFound, match=rf"\({name}\b"):
            repo.get(name, version)
        return verify(path, model, *args, **kwargs)

    monkeypatch.setattr(export.saved_model, "verify_saved_model", look_while_staged)
    export_saved_model(second, tmp_path, "m", 2)
    export_saved_model(second, tmp_path, "m2", 1)  # a new model, so far only staged
    assert seen == [("m", [1], ["m"]), ("m2", [], ["m"])]
    monkeypatch.undo()
    assert repo.versions("m") == [1, 2]

    # What an interrupted export or a copy in progress leaves behind (a staged SavedModel
    # complete but never renamed, a numeric folder not yet holding saved_model.pb), a hidden
    # model folder, and a folder whose name only looks numeric:
    staged = tmp_path / "m" / ".tmp-3-x7k2"
    shutil.copytree(tmp_path / "m" / "2", staged)
    (tmp_path / "m" / "4" / "variables").mkdir(parents=True)
    (tmp_path / "m" / "\u00b2").mkdir()
    shutil.copytree(tmp_path / "m", tmp_path / ".tmp-1-hidden")
    assert repo.model_names() == ["m", "m2"] and repo.versions("m") == [1, 2]
    for name, version in (("m", 3), ("m", 4), (".tmp-1-hidden", None), (".tmp-1-hidden", 1)):
        with pytest.raises(ServableNotFound):
            repo.get(name, version)
    x = np.ones((2, 4), "float32")
    assert repo.get("m")[0] == 2
    np.testing.assert_allclose(repo.get("m")[1](x)["probabilities"], second(x), atol=1e-6)
    with ModelServer(tmp_path, rest_port=0, grpc_port=None) as server:
        status, body = http(server, "GET", "/v1/models/m")
        assert [s["version"] for s in body["model_version_status"]] == ["2", "1"]
        assert http(server, "POST", "/v1/models/m/versions/3:predict",
                    {"instances": x.tolist()})[0] == 404
        assert http(server, "GET", f"/v1/models/{staged.name}")[0] == 404
        assert http(server, "GET", "/v1/models/.tmp-1-hidden")[0] == 404


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_keras_dl_serve_command(exported):
    base, model = exported
    rest, grpc_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_dl.cli", "serve", "--model-base", str(base),
         "--rest-port", str(rest), "--grpc-port", str(grpc_port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{rest}/v1/models/lenet5",
                                            timeout=5) as response:
                    assert response.status == 200
                    break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.stderr.read()
                time.sleep(0.5)
        else:
            pytest.fail("keras-dl serve did not answer within 90 s")
        x = images(1)
        request = urllib.request.Request(
            f"http://127.0.0.1:{rest}/v1/models/lenet5:predict",
            data=json.dumps({"instances": x.tolist()}).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            predictions = json.loads(response.read())["predictions"]
        np.testing.assert_allclose(predictions, model(x), atol=1e-5)
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "serving 1 model(s)" in out and "stopped" in out


def test_serve_rejects_a_missing_base(tmp_path, capsys):
    from keras_dl import cli

    assert cli.main(["serve", "--model-base", str(tmp_path / "none")]) == 2
    assert "is not a directory" in capsys.readouterr().err
