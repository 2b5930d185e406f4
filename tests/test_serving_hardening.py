"""The server as a network service: taken ports, the bound address and paths outside the
model base (issue 36). Size and nesting caps, slow clients and a clean stop on SIGTERM are in
test_serving_limits.py."""

import errno
import os
import signal
import socket
import threading

import grpc
import numpy as np
import pytest
import tensorflow as tf
from _cli import run_cli
from _serving_setup import (  # noqa: F401 (layout, base: fixtures)
    X,
    base,
    connection_refused,
    free_port,
    http_request,
    layout,
    listening_addresses,
)
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

import keras_dl.serving.repository as repository
from keras_dl import cli
from keras_dl.serving import ModelServer
from keras_dl.serving import grpc_service


def _listener(reuse_port=False):
    """A real socket listening on a free 127.0.0.1 port: (socket, port)."""
    holder = socket.socket()
    if reuse_port:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder, holder.getsockname()[1]


def _status(port, name="m"):
    """GetModelStatus over gRPC: the versions listed."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = name
        response = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
            request, timeout=30)
    return [s.version for s in response.model_version_status]


# --- taken ports --------------------------------------------------------------------------------


def test_a_taken_rest_port_is_refused_naming_it(base):
    """Catches a REST bind failure that does not name host:port (or loses errno), and a gRPC
    port left listening when the REST one is refused."""
    holder, port = _listener()
    grpc_port = free_port()
    with holder:
        with pytest.raises(OSError) as error:
            ModelServer(base, rest_port=port, grpc_port=grpc_port).start()
    assert str(error.value) == (f"cannot listen for REST on 127.0.0.1:{port}: Address already "
                                "in use; choose another --rest-port (0 picks a free one)")
    assert error.value.errno == errno.EADDRINUSE
    assert connection_refused(grpc_port)


def test_a_taken_grpc_port_is_refused_even_when_its_holder_shares_ports(base):
    """Catches gRPC's default SO_REUSEPORT: a second server (or any listener with
    SO_REUSEPORT) on the same port would be joined, not refused, and the two would split the
    connections. Also catches the REST port left open when gRPC fails, and the error not
    naming host:port."""
    with ModelServer(base, rest_port=None, grpc_port=0) as first:
        rest_port = free_port()
        with pytest.raises(OSError) as error:
            ModelServer(base, rest_port=rest_port, grpc_port=first.grpc_port).start()
        assert str(error.value) == (
            f"cannot listen for gRPC on 127.0.0.1:{first.grpc_port}: Address already in use; "
            "choose another --grpc-port (0 picks a free one)")
        assert error.value.errno == errno.EADDRINUSE
        assert connection_refused(rest_port)
        assert _status(first.grpc_port) == [1]  # the first server still serves, alone

    holder, port = _listener(reuse_port=True)
    with holder:
        with pytest.raises(OSError, match=rf"^cannot listen for gRPC on 127.0.0.1:{port}: "):
            ModelServer(base, rest_port=None, grpc_port=port).start()
        # gRPC itself, past the plain-socket probe (a port taken between the two): the option
        # that turns SO_REUSEPORT off is what refuses it
        server = grpc_service.grpc_server(ModelServer(base, rest_port=None, grpc_port=0))
        with pytest.raises(RuntimeError, match="Failed to bind"):
            server.add_insecure_port(f"127.0.0.1:{port}")


def test_keras_dl_serve_refuses_a_taken_port_in_one_line(base, capsys):
    """Catches `keras-dl serve` starting (or failing with a traceback or another exit code)
    when its REST or gRPC port is taken."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    # were the refusal missing, serve would block: interrupt it after 60 s (exit code 130)
    alarm = threading.Timer(60, os.kill, (os.getpid(), signal.SIGINT))
    alarm.start()
    try:
        holder, port = _listener()
        with holder:
            code, out, err = run_cli(capsys, "serve", "--model-base", base,
                                     "--rest-port", port, "--grpc-port", 0)
            assert (code, out) == (2, "")
            assert err == (f"keras-dl: error: cannot listen for REST on 127.0.0.1:{port}: "
                           "Address already in use; choose another --rest-port (0 picks a "
                           "free one)\n")
        with ModelServer(base, rest_port=None, grpc_port=0) as first:
            code, out, err = run_cli(capsys, "serve", "--model-base", base,
                                     "--rest-port", 0, "--grpc-port", first.grpc_port)
            assert (code, out) == (2, "")
            assert err == (f"keras-dl: error: cannot listen for gRPC on 127.0.0.1:"
                           f"{first.grpc_port}: Address already in use; choose another "
                           "--grpc-port (0 picks a free one)\n")
    finally:
        alarm.cancel()
        for signum, handler in saved.items():
            signal.signal(signum, handler)


# --- the bound address --------------------------------------------------------------------------


def test_the_server_binds_loopback_only_unless_told(base):
    """Catches a default host other than 127.0.0.1 (in ModelServer or `keras-dl serve`), or
    either protocol binding every interface."""
    assert ModelServer(base).host == "127.0.0.1"
    assert cli.build_parser().parse_args(["serve"]).host == "127.0.0.1"
    with ModelServer(base, rest_port=0, grpc_port=0) as server:
        assert listening_addresses(server.rest_port) == {"127.0.0.1"}
        assert listening_addresses(server.grpc_port) == {"127.0.0.1"}
    with ModelServer(base, host="0.0.0.0", rest_port=0, grpc_port=None) as server:
        assert listening_addresses(server.rest_port) == {"0.0.0.0"}  # told otherwise


# --- nothing outside the model base -------------------------------------------------------------


@pytest.fixture()
def loads(monkeypatch):
    """Every SavedModel path the repository loads."""
    paths = []

    class Recorded(repository.ServedModel):
        def __init__(self, path):
            paths.append(os.path.realpath(path))
            super().__init__(path)

    monkeypatch.setattr(repository, "ServedModel", Recorded)
    return paths


@pytest.mark.parametrize("method, path", [
    ("POST", "/v1/models/..:predict"),
    ("GET", "/v1/models/.."),
    ("GET", "/v1/models/%2e%2e/metadata"),
    ("POST", "/v1/models/%2e%2e:predict"),
    ("GET", "/v1/models/a%2f..%2f.."),
    ("POST", "/v1/models/a%2fb:predict"),
    ("POST", "/v1/models/m/versions/../1:predict"),
    ("POST", "/v1/models/../evil:predict"),
    ("GET", "/v1/models/linked"),
    ("POST", "/v1/models/linked:predict"),
    ("POST", "/v1/models/linked/versions/1:predict"),
    ("GET", "/v1/models/linked/versions/1/metadata"),
    ("POST", "/v1/models/m/versions/7:predict"),
    ("GET", "/v1/models/m/versions/7/metadata"),
])
def test_rest_paths_outside_the_base_are_not_found(base, loads, method, path):
    """Catches a model name or version resolving outside the model base: `..`, an encoded
    `..` or `/`, a version `../1`, and links (model or version) to SavedModels elsewhere; each
    must answer 404 like TF Serving and load nothing (the layout puts a SavedModel version 1
    in the base's parent, which `..` would reach)."""
    with ModelServer(base, rest_port=0, grpc_port=None) as server:
        status, body = http_request(server.rest_port, method, path,
                                {"instances": X} if method == "POST" else None)
        assert status == 404 and set(body) == {"error"}, body
        assert loads == []
        assert http_request(server.rest_port, "POST", "/v1/models/m:predict",
                        {"instances": X}) == (200, {"predictions": [[10.0, 10.0]]})


def test_grpc_names_outside_the_base_are_not_found(layout, loads):
    """Catches gRPC model_spec names reaching outside the base (`..`, `../x`, `a/b`, an
    absolute path, a NUL byte, the empty name that is the base itself, a link out of it) or a
    version linked out of it: each must answer NOT_FOUND and load nothing."""
    root, base = layout
    absolute = str(root / "evil")
    with ModelServer(base, rest_port=None, grpc_port=0) as server, \
            grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        predict = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict
        metadata = prediction_service_pb2_grpc.PredictionServiceStub(channel).GetModelMetadata
        status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus
        cases = [(name, None) for name in ("..", "../evil", "../..", "a/b", absolute,
                                           "linked", "", "m\0", "..\0")]
        cases += [("m", 7), ("linked", 1), (absolute, 1), ("..", 1)]
        for name, version in cases:
            for call, request in ((predict, predict_pb2.PredictRequest()),
                                  (metadata, get_model_metadata_pb2.GetModelMetadataRequest()),
                                  (status, get_model_status_pb2.GetModelStatusRequest())):
                request.model_spec.name = name
                if version is not None:
                    request.model_spec.version.value = version
                if call is predict:
                    request.inputs["inputs"].CopyFrom(tf.make_tensor_proto(np.float32(X)))
                if call is metadata:
                    request.metadata_field.append("signature_def")
                with pytest.raises(grpc.RpcError) as error:
                    call(request, timeout=30)
                assert error.value.code() == grpc.StatusCode.NOT_FOUND, (name, version)
        assert loads == []
        assert server.repository.model_names() == ["inner", "m"]


def test_links_inside_the_base_are_served_and_listing_skips_links_out(base, loads):
    """Catches the symlink rule refusing links that stay inside the base, and a model linked
    out of the base being listed."""
    repo = repository.ModelRepository(base)
    assert repo.model_names() == ["inner", "m"]
    assert repo.versions("m") == [1] and repo.versions("linked") == []
    version, model = repo.get("inner")
    assert version == 1
    np.testing.assert_array_equal(model(np.float32(X))["logits"], [[10.0, 10.0]])
    assert loads == [os.path.realpath(base / "m" / "1")]
