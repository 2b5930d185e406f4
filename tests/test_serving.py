"""The local TF-Serving-compatible server, called with a real HTTP client and the official stub."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from _http import http
from _serving_setup import wait_until_serving
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
        wait_until_serving(process, rest, "lenet5")
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


# --- exact responses, requested versions, limits and the server's lifecycle -------------------


def _raw(port, data, timeout=10.0):
    """Send `data` on a fresh connection and read until the server hangs up."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def _split_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.decode().split("\r\n"), body


def test_rest_metadata_has_the_model_spec_and_only_public_signatures(server):
    """Catches a wrong or missing `model_spec` (name, signature_name, version) and internal
    `__saved_model_init_op` signatures leaking into the metadata."""
    for path in ("/v1/models/lenet5/metadata", "/v1/models/lenet5/versions/1/metadata",
                 "/v1/models/lenet5/metadata?pretty=1?x=2"):
        status, body = http(server, "GET", path)
        assert status == 200, body
        assert set(body) == {"model_spec", "metadata"}
        assert body["model_spec"] == {"name": "lenet5", "signature_name": "", "version": "1"}
        assert set(body["metadata"]) == {"signature_def"}
        assert set(body["metadata"]["signature_def"]["signature_def"]) == {"serving_default"}
    status, body = http(server, "GET", "/v1/models/lenet5?verbose=1?x=2")
    assert status == 200 and [s["version"] for s in body["model_version_status"]] == ["1"]


@pytest.mark.parametrize(
    "method, path, payload, raw, status_code, message",
    [
        ("POST", "/v1/models/lenet5:predict", None, b"[1, 2]", 400,
         "request body must be a JSON object"),
        ("POST", "/v1/models/lenet5:predict", {"rows": []}, None, 400,
         "Missing 'inputs' or 'instances' key"),
        ("POST", "/v1/models/lenet5:predict", {"instances": [[0.0]], "inputs": [[0.0]]}, None,
         400, "Only one of 'inputs' or 'instances' may be given"),
        ("POST", "/v1/models/lenet5:predict", {"instances": []}, None, 400,
         "'instances' must be a non-empty JSON list"),
        ("POST", "/v1/models/lenet5:predict", {"instances": "abc"}, None, 400,
         "'instances' must be a non-empty JSON list"),
        ("POST", "/v1/models/lenet5:predict", {"inputs": {"images": [[0]], "pixels": [[0]]}},
         None, 400, "input names ['images', 'pixels'] do not match the signature's input "
                    "\"images\""),
        ("POST", "/v1/models/lenet5:predict", None, b"", 400,
         "JSON Parse error: Expecting value: line 1 column 1 (char 0)"),
        ("GET", "/v1/models/lenet5:predict", None, None, 400, "predict takes POST"),
        ("POST", "/v1/models/lenet5/metadata", {"instances": [[0.0]]}, None, 400,
         "POST is for :predict, not /v1/models/lenet5/metadata"),
        ("GET", "/v1/models/lenet5/versions/9", None, None, 404,
         "Servable not found for request: Specific(lenet5, 9)"),
        ("GET", "/v1/models/lenet5/versions/9/metadata", None, None, 404,
         "Servable not found for request: Specific(lenet5, 9)"),
    ],
)
def test_rest_error_messages_are_exact(server, method, path, payload, raw, status_code, message):
    """Catches a REST error answered with the wrong status or a changed/missing message."""
    status, body = http(server, method, path, payload, raw=raw)
    assert (status, body) == (status_code, {"error": message})


def test_unexpected_failures_are_500_over_rest_and_internal_over_grpc(server, monkeypatch):
    """Catches an unexpected exception answered without HTTP 500 / gRPC INTERNAL and the
    exception's type and message."""
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(server.repository, "versions", boom)
    monkeypatch.setattr(server.repository, "get", boom)
    assert http(server, "GET", "/v1/models/lenet5") == (500, {"error": "RuntimeError: disk on fire"})
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "lenet5"
        request.inputs["images"].CopyFrom(tf.make_tensor_proto(images(1)))
        with pytest.raises(grpc.RpcError) as error:
            prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=60)
    assert error.value.code() == grpc.StatusCode.INTERNAL
    assert error.value.details() == "RuntimeError: disk on fire"


def test_rest_response_headers_and_keep_alive(server):
    """Catches missing/misspelt Content-Type, Content-Length and Server headers, and a
    keep-alive connection that breaks on its second request."""
    request = b"GET /v1/models/lenet5 HTTP/1.1\r\nHost: localhost\r\n\r\n"
    last = b"GET /v1/models/lenet5 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    raw = _raw(server.rest_port, request + last)
    expected = json.dumps(http(server, "GET", "/v1/models/lenet5")[1]).encode()
    assert raw.count(b"HTTP/1.1 200 OK\r\n") == 2
    first, rest = raw.split(b"\r\n\r\n", 1)
    lines = first.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    assert lines[1].startswith("Server: keras_dl-serving ")
    assert "Content-Type: application/json" in lines
    assert f"Content-Length: {len(expected)}" in lines
    assert rest.startswith(expected + b"HTTP/1.1 200 OK\r\n") and rest.endswith(expected)


def test_rest_request_size_limit_is_exact_and_oversized_bodies_are_dropped(exported):
    """Catches an off-by-one at max_request_bytes, a server that ignores the argument, a
    drained body cut short or read too far, a bad Content-Length not reported as -1, a body
    read without Content-Length, and a connection kept open after 413."""
    base, _ = exported
    limit = 300_000  # 4 × the limit exceeds the 1 MiB chunks an oversized body is read in
    with ModelServer(base, rest_port=0, grpc_port=None, max_request_bytes=limit) as small:
        port = small.rest_port
        body = b'{"instances": [[1.0, 2.0]]}'
        status, answer = http(small, "POST", "/v1/models/lenet5:predict", raw=body.ljust(limit))
        assert status == 400 and "does not fit" in answer["error"]
        status, answer = http(small, "POST", "/v1/models/lenet5:predict",
                              raw=body.ljust(limit + 1))
        assert (status, answer) == (413, {"error": f"request of {limit + 1} bytes is larger "
                                                   f"than the server's limit of {limit} bytes"})

        def post(length):
            return (f"POST /v1/models/lenet5:predict HTTP/1.1\r\nHost: x\r\n"
                    f"Content-Length: {length}\r\n\r\n").encode()

        # no body sent at all: answered at once (nothing is waited for), then hung up
        for length, shown in (("abc", -1), (4 * limit + 1, 4 * limit + 1), (10**9, 10**9)):
            head, answer = _split_response(_raw(port, post(length), timeout=5))
            assert head[0] == "HTTP/1.1 413 Request Entity Too Large"
            assert json.loads(answer) == {"error": f"request of {shown} bytes is larger than "
                                                   f"the server's limit of {limit} bytes"}
        # up to 4 × the limit, the whole body is read before the answer
        for length in (4 * limit, (1 << 20) + 1):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(post(length) + b" " * (length - 1))
                connection.settimeout(1.0)
                with pytest.raises(socket.timeout):
                    connection.recv(65536)
                connection.settimeout(10)
                connection.sendall(b" ")
                received = b""
                while chunk := connection.recv(65536):  # the server hangs up after the 413
                    received += chunk
            head, answer = _split_response(received)
            assert head[0] == "HTTP/1.1 413 Request Entity Too Large"
            assert json.loads(answer)["error"].startswith(f"request of {length} bytes")
        # without Content-Length the body is empty: a JSON error, not a wait for one byte
        head, answer = _split_response(_raw(port, b"POST /v1/models/lenet5:predict HTTP/1.1\r\n"
                                                  b"Host: x\r\nConnection: close\r\n\r\n",
                                            timeout=5))
        assert head[0] == "HTTP/1.1 400 Bad Request"
        assert json.loads(answer)["error"].startswith("JSON Parse error")


def test_grpc_message_size_limits_follow_max_request_bytes(exported):
    """Catches gRPC ignoring max_request_bytes for received requests or sent responses."""
    base, _ = exported
    with ModelServer(base, rest_port=None, grpc_port=0, max_request_bytes=100) as small:
        with grpc.insecure_channel(f"127.0.0.1:{small.grpc_port}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            request = predict_pb2.PredictRequest()
            request.model_spec.name = "lenet5"
            request.inputs["images"].CopyFrom(tf.make_tensor_proto(images(1)))
            with pytest.raises(grpc.RpcError) as error:
                stub.Predict(request, timeout=60)
            assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "Received message larger than max" in error.value.details()
            metadata_request = get_model_metadata_pb2.GetModelMetadataRequest()
            metadata_request.model_spec.name = "lenet5"
            metadata_request.metadata_field.append("signature_def")
            assert metadata_request.ByteSize() < 100  # the request fits, the answer does not
            with pytest.raises(grpc.RpcError) as error:
                stub.GetModelMetadata(metadata_request, timeout=60)
            assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "Sent message larger than max" in error.value.details()


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    base = tmp_path_factory.mktemp("two_versions")
    models = {version: _tiny_mlp() for version in (1, 2)}
    for version, model in models.items():
        export_saved_model(model, base, "m", version)
    return base, models


def _grpc_refusal(call, request):
    """(status code, details) of a gRPC call that must fail."""
    with pytest.raises(grpc.RpcError) as error:
        call(request, timeout=60)
    return error.value.code(), error.value.details()


def test_an_unknown_signature_is_refused_as_tf_serving_does(server):
    """Catches a Predict naming a signature the model does not serve answered over gRPC with
    another status or message than TF Serving's (FAILED_PRECONDITION, `Serving signature key
    "x" not found.`), over REST with another status than TF Serving's 400 or without its
    message, and the default signature ("" or "serving_default") refused."""
    x = images(1)
    for name in ("x", "classify"):
        assert http(server, "POST", "/v1/models/lenet5:predict",
                    {"signature_name": name, "instances": x.tolist()}) == (400, {
                        "error": f'Serving signature name: "{name}" not found in signature '
                                 'def; this server serves "serving_default"'})
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "lenet5"
        request.inputs["images"].CopyFrom(tf.make_tensor_proto(x))
        for name in ("x", "classify"):
            request.model_spec.signature_name = name
            assert _grpc_refusal(stub.Predict, request) == (
                grpc.StatusCode.FAILED_PRECONDITION, f'Serving signature key "{name}" not found.')
        for name in ("", "serving_default"):
            request.model_spec.signature_name = name
            assert set(stub.Predict(request, timeout=60).outputs) == {"probabilities"}


def test_requested_versions_are_served_over_rest_and_grpc(two_versions):
    """Catches `versions/V` or `model_spec.version` being ignored (the newest answering
    instead) and NOT_FOUND errors over gRPC without Serving's message."""
    base, models = two_versions
    x = np.random.default_rng(3).random((2, 4), dtype="float32")
    old, new = np.asarray(models[1](x)), np.asarray(models[2](x))
    assert not np.allclose(old, new, atol=1e-4)
    with ModelServer(base, rest_port=0, grpc_port=0) as server:
        assert http(server, "GET", "/v1/models/m/versions/1")[1] == {"model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK",
                                                              "error_message": ""}}]}
        assert [s["version"] for s in http(server, "GET", "/v1/models/m")[1][
            "model_version_status"]] == ["2", "1"]
        for version, expected in ((1, old), (2, new)):
            status, body = http(server, "GET", f"/v1/models/m/versions/{version}/metadata")
            assert body["model_spec"] == {"name": "m", "signature_name": "",
                                          "version": str(version)}
            status, body = http(server, "POST", f"/v1/models/m/versions/{version}:predict",
                                {"instances": x.tolist()})
            np.testing.assert_allclose(body["predictions"], expected, atol=1e-5)
        np.testing.assert_allclose(http(server, "POST", "/v1/models/m:predict",
                                        {"instances": x.tolist()})[1]["predictions"], new,
                                   atol=1e-5)

        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            models_stub = model_service_pb2_grpc.ModelServiceStub(channel)
            for version, expected in ((1, old), (2, new), (None, new)):
                request = predict_pb2.PredictRequest()
                request.model_spec.name = "m"
                if version is not None:
                    request.model_spec.version.value = version
                request.inputs["inputs"].CopyFrom(tf.make_tensor_proto(x))
                response = stub.Predict(request, timeout=60)
                assert response.model_spec.name == "m"
                assert response.model_spec.version.value == (version or 2)
                assert response.model_spec.signature_name == "serving_default"
                np.testing.assert_allclose(
                    tf.make_ndarray(response.outputs["probabilities"]), expected, atol=1e-5)

                metadata_request = get_model_metadata_pb2.GetModelMetadataRequest()
                metadata_request.model_spec.name = "m"
                if version is not None:
                    metadata_request.model_spec.version.value = version
                metadata_request.metadata_field.append("signature_def")
                metadata = stub.GetModelMetadata(metadata_request, timeout=60)
                assert metadata.model_spec.name == "m"
                assert metadata.model_spec.version.value == (version or 2)
                signatures = get_model_metadata_pb2.SignatureDefMap()
                metadata.metadata["signature_def"].Unpack(signatures)
                assert set(signatures.signature_def) == {"serving_default"}

                status_request = get_model_status_pb2.GetModelStatusRequest()
                status_request.model_spec.name = "m"
                if version is not None:
                    status_request.model_spec.version.value = version
                statuses = models_stub.GetModelStatus(status_request, timeout=60)
                assert [s.version for s in statuses.model_version_status] == (
                    [version] if version else [2, 1])
                assert all(s.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
                           for s in statuses.model_version_status)

            # a version that does not exist: NOT_FOUND with Serving's message, from all three
            missing = predict_pb2.PredictRequest()
            missing.model_spec.name = "m"
            missing.model_spec.version.value = 3
            missing.inputs["inputs"].CopyFrom(tf.make_tensor_proto(x))
            metadata_missing = get_model_metadata_pb2.GetModelMetadataRequest()
            metadata_missing.model_spec.name = "m"
            metadata_missing.model_spec.version.value = 3
            metadata_missing.metadata_field.append("signature_def")
            status_missing = get_model_status_pb2.GetModelStatusRequest()
            status_missing.model_spec.name = "m"
            status_missing.model_spec.version.value = 3
            for call, request in ((stub.Predict, missing),
                                  (stub.GetModelMetadata, metadata_missing),
                                  (models_stub.GetModelStatus, status_missing)):
                assert _grpc_refusal(call, request) == (
                    grpc.StatusCode.NOT_FOUND, "Servable not found for request: Specific(m, 3)")
            nosuch = get_model_status_pb2.GetModelStatusRequest()
            nosuch.model_spec.name = "nosuch"
            assert _grpc_refusal(models_stub.GetModelStatus, nosuch) == (
                grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest(nosuch)")

            bad_fields = get_model_metadata_pb2.GetModelMetadataRequest()
            bad_fields.model_spec.name = "m"
            assert _grpc_refusal(stub.GetModelMetadata, bad_fields) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                "metadata_field must be exactly ['signature_def']")


def test_several_outputs_come_back_per_row_and_per_column(server, exported, monkeypatch):
    """Catches multi-output predictions in the wrong REST layout (rows of objects / a dict of
    columns) and gRPC's output_filter dropping the requested output or stopping early."""
    from keras_dl.export.served import ServedModel

    _, model = exported
    call = ServedModel.__call__

    def two_outputs(self, inputs):
        outputs = dict(call(self, inputs))
        outputs["label"] = np.argmax(outputs["probabilities"], axis=-1).astype("int64")
        return outputs

    monkeypatch.setattr(ServedModel, "__call__", two_outputs)
    x = images(3, seed=4)
    probabilities = np.asarray(model(x))
    labels = probabilities.argmax(-1).tolist()
    status, body = http(server, "POST", "/v1/models/lenet5:predict", {"instances": x.tolist()})
    assert status == 200 and set(body) == {"predictions"} and len(body["predictions"]) == 3
    for row, p, label in zip(body["predictions"], probabilities, labels):
        assert set(row) == {"probabilities", "label"} and row["label"] == label
        np.testing.assert_allclose(row["probabilities"], p, atol=1e-5)
    status, body = http(server, "POST", "/v1/models/lenet5:predict", {"inputs": x.tolist()})
    assert status == 200 and set(body) == {"outputs"}
    assert set(body["outputs"]) == {"probabilities", "label"}
    assert body["outputs"]["label"] == labels
    np.testing.assert_allclose(body["outputs"]["probabilities"], probabilities, atol=1e-5)

    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "lenet5"
        request.inputs["images"].CopyFrom(tf.make_tensor_proto(x))
        assert set(stub.Predict(request, timeout=60).outputs) == {"probabilities", "label"}
        request.output_filter.append("label")
        response = stub.Predict(request, timeout=60)
        assert set(response.outputs) == {"label"}
        assert tf.make_ndarray(response.outputs["label"]).tolist() == labels


def test_model_server_arguments_are_checked(tmp_path):
    """Catches wrong default ports, a server with both protocols off, out-of-range or
    non-integer ports accepted, and error messages that do not name the bad argument."""
    server = ModelServer(tmp_path)
    assert (server.host, server.rest_port, server.grpc_port) == ("127.0.0.1", 8501, 8500)
    assert server.max_request_bytes == 32 * 1024 * 1024
    assert ModelServer(tmp_path, rest_port=65535, grpc_port=0).rest_port == 65535
    assert ModelServer(tmp_path, rest_port=None, grpc_port=0).rest_port is None
    assert ModelServer(tmp_path, rest_port=0, grpc_port=None).grpc_port is None
    with pytest.raises(ValueError, match=r"^enable at least one of the REST and gRPC ports$"):
        ModelServer(tmp_path, rest_port=None, grpc_port=None)
    for kwargs, message in (
        ({"rest_port": 65536}, "REST port must be an integer in 0..65535, got 65536"),
        ({"rest_port": -1}, "REST port must be an integer in 0..65535, got -1"),
        ({"rest_port": 8.5}, "REST port must be an integer in 0..65535, got 8.5"),
        ({"grpc_port": "8500"}, "gRPC port must be an integer in 0..65535, got '8500'"),
        ({"grpc_port": 65536}, "gRPC port must be an integer in 0..65535, got 65536"),
    ):
        with pytest.raises(ValueError) as error:
            ModelServer(tmp_path, **kwargs)
        assert str(error.value) == message
    missing = tmp_path / "none"
    with pytest.raises(ValueError) as error:
        ModelRepository(missing)
    assert str(error.value) == f"model base {str(missing)!r} is not a directory"


def _refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_stop_closes_both_ports_even_with_an_idle_keep_alive_client(exported):
    """Catches a stop() that leaves a port open, waits on idle keep-alive connections
    (non-daemon handler threads), fails when called twice, or a non-daemon REST thread."""
    import http.client
    import threading

    base, _ = exported
    before = set(threading.enumerate())
    server = ModelServer(base, rest_port=0, grpc_port=0).start()
    try:
        (thread,) = [t for t in set(threading.enumerate()) - before if t.name == "keras_dl-rest"]
        assert thread.daemon and thread.is_alive()
        client = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=30)
        client.request("GET", "/v1/models/lenet5")
        assert client.getresponse().read()  # the connection stays open, idle
        stopper = threading.Thread(target=server.stop, daemon=True)
        stopper.start()
        stopper.join(timeout=10)
        assert not stopper.is_alive(), "stop() waited for an idle keep-alive client"
        client.close()
    finally:
        server.stop()
    server.stop()  # a second stop is harmless
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert _refused(server.rest_port) and _refused(server.grpc_port)


def test_model_names_with_a_slash_are_never_looked_up(tmp_path):
    """Catches a model name with `/` reaching into nested folders of the model base."""
    export_saved_model(_tiny_mlp(), tmp_path / "outer", "m", 1)
    repo = ModelRepository(tmp_path)
    assert ModelRepository(tmp_path / "outer").versions("m") == [1]
    assert repo.versions("outer/m") == [] and repo.model_names() == []
    with pytest.raises(ServableNotFound):
        repo.get("outer/m")


# --- every signature, as TF Serving serves it ---------------------------------------------------


@pytest.fixture(scope="module")
def autoencoders(tmp_path_factory):
    """A tiny autoencoder ("ae": encode → code, decode) and VAE ("vae": encode → z_mean and
    z_log_var, two outputs) exported to one base and served."""
    from keras_dl.models import autoencoders as parts

    base = tmp_path_factory.mktemp("autoencoders")
    models = {
        "ae": keras_dl.create_model("autoencoder", input_shape=(8, 8, 1), code_size=4,
                                    hidden_units=(8,)),
        "vae": keras_dl.create_model("vae", input_shape=(8, 8, 1), latent_dim=2,
                                     hidden_units=(6,)),
    }
    for name, model in models.items():
        export_saved_model(model, base, name, 1)
    parts_of = {name: (parts.encoder(m), parts.decoder(m)) for name, m in models.items()}
    with ModelServer(base, rest_port=0, grpc_port=0) as running:
        yield running, models, parts_of


def _grpc_predict(server, model, signature, inputs):
    """The outputs (name → array) and the answered signature_name of a gRPC Predict."""
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model
        request.model_spec.signature_name = signature
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        response = stub.Predict(request, timeout=60)
    return ({key: tf.make_ndarray(value) for key, value in response.outputs.items()},
            response.model_spec.signature_name)


def test_encode_and_decode_are_served_over_rest_and_grpc(autoencoders):
    """Catches a named signature answered by another (every signature running
    serving_default, or encode and decode swapped), a signature's own input name or shape
    refused, and serving_default changed by serving the others."""
    server, models, parts_of = autoencoders
    encoder, decoder = parts_of["ae"]
    x = np.random.default_rng(5).random((3, 8, 8, 1), dtype="float32")
    code = np.asarray(encoder(x))
    reconstruction = np.asarray(decoder(code))
    assert code.shape == (3, 4)
    path = "/v1/models/ae:predict"

    status, body = http(server, "POST", path, {"signature_name": "encode", "instances": x.tolist()})
    assert status == 200 and set(body) == {"predictions"}
    np.testing.assert_allclose(body["predictions"], code, atol=1e-5)
    status, body = http(server, "POST", path, {"signature_name": "encode",
                                               "instances": [{"inputs": r} for r in x.tolist()]})
    np.testing.assert_allclose(body["predictions"], code, atol=1e-5)
    status, body = http(server, "POST", path, {"signature_name": "decode",
                                               "inputs": {"code": code.tolist()}})
    assert status == 200 and set(body) == {"outputs"}
    np.testing.assert_allclose(body["outputs"], reconstruction, atol=1e-5)
    status, body = http(server, "POST", path, {"signature_name": "decode",
                                               "instances": code.tolist()})
    np.testing.assert_allclose(body["predictions"], reconstruction, atol=1e-5)
    for request in ({"instances": x.tolist()}, {"signature_name": "", "inputs": x.tolist()}):
        status, body = http(server, "POST", path, request)
        served = body.get("predictions", body.get("outputs"))
        np.testing.assert_allclose(served, np.asarray(models["ae"](x)), atol=1e-5)

    outputs, answered = _grpc_predict(server, "ae", "encode", {"inputs": x})
    assert answered == "encode" and set(outputs) == {"code"}
    np.testing.assert_allclose(outputs["code"], code, atol=1e-5)
    outputs, answered = _grpc_predict(server, "ae", "decode", {"code": code})
    assert answered == "decode" and set(outputs) == {"reconstruction"}
    np.testing.assert_allclose(outputs["reconstruction"], reconstruction, atol=1e-5)
    outputs, answered = _grpc_predict(server, "ae", "", {"inputs": x})
    assert answered == "serving_default" and set(outputs) == {"reconstruction"}


def test_a_signature_with_two_outputs_answers_rows_of_objects_and_a_dict_of_columns(
        autoencoders):
    """Catches a VAE's `encode` (z_mean, z_log_var) answered in the wrong REST layout or with
    another signature's outputs, over REST and gRPC."""
    server, _, parts_of = autoencoders
    x = np.random.default_rng(6).random((2, 8, 8, 1), dtype="float32")
    z_mean, z_log_var = (np.asarray(v) for v in parts_of["vae"][0](x))
    status, body = http(server, "POST", "/v1/models/vae:predict",
                        {"signature_name": "encode", "instances": x.tolist()})
    assert status == 200 and len(body["predictions"]) == 2
    for row, mean, log_var in zip(body["predictions"], z_mean, z_log_var):
        assert set(row) == {"z_mean", "z_log_var"}
        np.testing.assert_allclose(row["z_mean"], mean, atol=1e-5)
        np.testing.assert_allclose(row["z_log_var"], log_var, atol=1e-5)
    status, body = http(server, "POST", "/v1/models/vae:predict",
                        {"signature_name": "encode", "inputs": {"inputs": x.tolist()}})
    assert status == 200 and set(body["outputs"]) == {"z_mean", "z_log_var"}
    np.testing.assert_allclose(body["outputs"]["z_mean"], z_mean, atol=1e-5)
    np.testing.assert_allclose(body["outputs"]["z_log_var"], z_log_var, atol=1e-5)
    outputs, _ = _grpc_predict(server, "vae", "encode", {"inputs": x})
    np.testing.assert_allclose(outputs["z_log_var"], z_log_var, atol=1e-5)
    outputs, answered = _grpc_predict(server, "vae", "sample", {"inputs": x})
    assert answered == "sample" and {k: v.shape for k, v in outputs.items()} == {
        "reconstruction": (2, 8, 8, 1), "z": (2, 2)}


def test_a_named_signature_checks_its_own_inputs_and_unknown_names_list_the_known(autoencoders):
    """Catches `decode` checked against serving_default's input (or not at all): a code of the
    wrong width must be one line naming the shape and the signature; a wrong input name must
    name the signature's input; an unknown signature must be listed with those the model has,
    over gRPC as TF Serving answers it."""
    server, _, _ = autoencoders
    path = "/v1/models/ae:predict"
    wide = ("input of shape (1, 5) does not fit the input 'code' of signature \"decode\", "
            "which takes (batch, 4) or one example without the batch axis")
    assert http(server, "POST", path, {"signature_name": "decode",
                                       "instances": [[0.0] * 5]}) == (400, {"error": wide})
    images = np.zeros((1, 8, 8, 1), "float32").tolist()
    assert http(server, "POST", path, {"signature_name": "decode",
                                       "inputs": {"inputs": images}}) == (400, {
        "error": "input names ['inputs'] do not match signature \"decode\"'s input \"code\""})
    assert http(server, "POST", path, {"signature_name": "decode", "instances": images})[0] == 400
    assert http(server, "POST", path, {"signature_name": ["encode"], "instances": images}) == (
        400, {"error": "'signature_name' must be a string, got ['encode']"})
    assert http(server, "POST", path, {"signature_name": "sample", "instances": images}) == (
        400, {"error": 'Serving signature name: "sample" not found in signature def; this '
                       'server serves "serving_default", "decode", "encode"'})
    with pytest.raises(grpc.RpcError) as error:
        _grpc_predict(server, "ae", "decode", {"code": np.zeros((1, 5), "float32")})
    assert (error.value.code(), error.value.details()) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                          wide)
    with pytest.raises(grpc.RpcError) as error:
        _grpc_predict(server, "ae", "sample", {"inputs": np.zeros((1, 8, 8, 1), "float32")})
    assert (error.value.code(), error.value.details()) == (
        grpc.StatusCode.FAILED_PRECONDITION, 'Serving signature key "sample" not found.')
    status, body = http(server, "GET", "/v1/models/ae/metadata")
    assert set(body["metadata"]["signature_def"]["signature_def"]) == {
        "serving_default", "encode", "decode"}


def test_a_signature_with_two_inputs_takes_them_by_name(tmp_path):
    """Catches a several-input signature (a SavedModel not written by keras_dl) fed one input
    for all, fed a bare array without a refusal, or fed inputs of different batch sizes."""
    from keras_dl.export import ServedModel
    from keras_dl.serving.calls import RequestError, predict

    module = tf.Module()
    one = tf.function(lambda inputs: {"y": inputs * 2.0},
                      input_signature=[tf.TensorSpec([None, 2], tf.float32, name="inputs")])
    pair = tf.function(lambda a, b: {"sum": a + b, "difference": a - b},
                       input_signature=[tf.TensorSpec([None, 2], tf.float32, name="a"),
                                        tf.TensorSpec([None, 2], tf.float32, name="b")])
    path = tmp_path / "m" / "1"
    tf.saved_model.save(module, str(path), signatures={
        "serving_default": one.get_concrete_function(), "pair": pair.get_concrete_function()})
    served = ServedModel(path)
    assert served.signature_names == ("serving_default", "pair")
    assert set(served.signature_named("pair").input_specs) == {"a", "b"}
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0, 5.0]])
    outputs = predict(served, "pair", {"a": a, "b": b})
    assert outputs["sum"].tolist() == [[4.0, 7.0]] and outputs["difference"].tolist() == [
        [-2.0, -3.0]]
    assert predict(served, "", [[1.0, 2.0]])["y"].tolist() == [[2.0, 4.0]]
    for inputs, message in (
            (a, 'signature "pair"\'s inputs "a", "b" must be given by name'),
            ({"a": a}, 'input names [\'a\'] do not match signature "pair"\'s inputs "a", "b"'),
            ({"a": a, "b": np.zeros((2, 2))}, 'inputs of signature "pair" hold different '
                                              "numbers of examples: {'a': 1, 'b': 2}")):
        with pytest.raises(RequestError) as error:
            predict(served, "pair", inputs)
        assert str(error.value) == message
