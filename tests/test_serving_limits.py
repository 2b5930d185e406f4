"""The server's limits (issue 36): size and nesting caps on requests, slow clients cut off,
and a clean stop on SIGTERM that answers every accepted request. Taken ports, the bound address
and paths outside the model base are in test_serving_hardening.py."""

import http.client
import json
import signal
import socket
import threading
import time
import types

import grpc
import numpy as np
import pytest
import tensorflow as tf
from _cli import run_cli
from _serving_setup import (  # noqa: F401 (layout, base: fixtures)
    X,
    base,
    connection_refused,
    http_request,
    layout,
    listening_addresses,
)
from tensorflow_serving.apis import (
    predict_pb2,
    prediction_service_pb2_grpc,
)

import keras_dl
from keras_dl import cli
from keras_dl.export import export_saved_model
from keras_dl.serving import ModelServer
from keras_dl.serving.rest import json_depth


# --- caps ---------------------------------------------------------------------------------------


def _nested(depth):
    """A predict body nested `depth` levels (the object counts as one), with more brackets in
    all than `depth` (a shallow `pad` beside), so the depth itself must be measured."""
    inner = "[" * (depth - 1) + "0" + "]" * (depth - 1)
    return f'{{"signature_name": "x", "pad": [[[0]], [[0]]], "instances": {inner}}}'.encode()


def _post_raw(port, body, path="/v1/models/m:predict"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body=body)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_json_nested_deeper_than_the_limit_is_refused_before_parsing(base, monkeypatch):
    """Catches a body past max_json_depth reaching json.loads (RecursionError, a 500, or a
    slow parse), an off-by-one at the limit, and a limit that ignores its argument."""
    import keras_dl.serving.rest as rest

    parsed = []  # the sizes of the bodies the server handed to json.loads
    monkeypatch.setattr(rest, "json", types.SimpleNamespace(
        loads=lambda raw: parsed.append(len(raw)) or json.loads(raw), dumps=json.dumps,
        JSONDecodeError=json.JSONDecodeError))
    with ModelServer(base, rest_port=0, grpc_port=None) as server:
        status, body = _post_raw(server.rest_port, _nested(400))
        assert (status, body["error"].split(";")[0]) == (
            400, 'Serving signature name: "x" not found in signature def')  # parsed
        assert parsed == [len(_nested(400))]
        for depth in (401, 200_000):
            began = time.monotonic()
            status, body = _post_raw(server.rest_port, _nested(depth))
            assert (status, body) == (400, {"error": f"JSON body is nested {depth} levels "
                                                     "deep; the server's limit is 400 "
                                                     "(max_json_depth)"})
            assert time.monotonic() - began < 10
        assert parsed == [len(_nested(400))]  # neither reached json.loads
    with ModelServer(base, rest_port=0, grpc_port=None, max_json_depth=3) as server:
        assert _post_raw(server.rest_port, b'{"instances": [[1, 2, 3, 4]]}') == (
            200, {"predictions": [[10.0, 10.0]]})
        assert _post_raw(server.rest_port, b'{"instances": [[[1, 2, 3, 4]]]}') == (
            400, {"error": "JSON body is nested 4 levels deep; the server's limit is 3 "
                           "(max_json_depth)"})


def _reference_depth(value):
    if isinstance(value, list):
        return 1 + max(map(_reference_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_reference_depth, value.values()), default=0)
    return 0


def test_json_depth_skips_brackets_in_strings_and_is_linear(monkeypatch):
    """Catches brackets inside strings counted as nesting (escaped quotes and backslashes
    included), a depth off by one, and a measure that is slow on hostile bodies."""
    texts = ['{"a": "[[[[", "b": [1, {"c": "]]]}"}]}',
             r'{"a\"[": [[["\\"]]], "b": "\\\"[{"}',
             r'["\\\\", ["\"", [[]]], {}]',
             '[]', '{}', '0', '"[[["', '[[1], [[2]], [[[3]]]]']
    for text in texts:
        assert json_depth(text.encode()) == _reference_depth(json.loads(text)), text
    rng = np.random.default_rng(0)
    for _ in range(50):  # random documents with hostile strings
        def build(level):
            kind = rng.integers(0, 4 if level < 6 else 2)
            if kind == 0:
                return "".join(rng.choice(list('[]{}"\\ab'), size=rng.integers(0, 6)))
            if kind == 1:
                return int(rng.integers(0, 9))
            if kind == 2:
                return [build(level + 1) for _ in range(rng.integers(0, 3))]
            return {str(build(level + 1)): build(level + 1) for _ in range(rng.integers(0, 3))}
        document = build(0)
        text = json.dumps(document).encode()
        assert json_depth(text) == _reference_depth(document), text
    for hostile in (b'"' + b'\\"' * 2_000_000, b"[" * 4_000_000, b'"' * 4_000_000):
        began = time.monotonic()
        json_depth(hostile)
        assert time.monotonic() - began < 5


def test_size_and_depth_arguments_are_checked(base):
    """Catches a non-positive or non-integer max_json_depth, or a non-positive, infinite or
    non-numeric request_timeout, accepted."""
    server = ModelServer(base)
    assert (server.max_json_depth, server.request_timeout) == (400, 30.0)
    for kwargs, message in (
        ({"max_json_depth": 0}, "max_json_depth must be a positive integer, got 0"),
        ({"max_json_depth": 2.5}, "max_json_depth must be a positive integer, got 2.5"),
        ({"max_json_depth": True}, "max_json_depth must be a positive integer, got True"),
        ({"request_timeout": 0}, "request_timeout must be a positive number of seconds, got 0"),
        ({"request_timeout": float("inf")},
         "request_timeout must be a positive number of seconds, got inf"),
        ({"request_timeout": "5"},
         "request_timeout must be a positive number of seconds, got '5'"),
    ):
        with pytest.raises(ValueError) as error:
            ModelServer(base, **kwargs)
        assert str(error.value) == message


def test_serve_help_and_bad_limits(capsys):
    """Catches `keras-dl serve --help` missing the new flags, and a bad --request-timeout or
    --max-json-depth accepted or refused without one line and exit code 2."""
    code, out, _ = run_cli(capsys, "serve", "--help")
    assert code == 0
    for flag in ("--host", "--request-timeout", "--max-json-depth"):
        assert flag in out
    parsed = cli.build_parser().parse_args(["serve", "--request-timeout", "2.5",
                                            "--max-json-depth", "50"])
    assert (parsed.request_timeout, parsed.max_json_depth) == (2.5, 50)
    defaults = cli.build_parser().parse_args(["serve"])
    assert (defaults.request_timeout, defaults.max_json_depth) == (30.0, 400)
    for flag, value, reason in (("--request-timeout", "0", "0 is not a positive number"),
                                ("--request-timeout", "abc", "'abc' is not a number"),
                                ("--max-json-depth", "0", "0 is not a positive integer")):
        code, out, err = run_cli(capsys, "serve", flag, value)
        assert code == 2 and len(err.splitlines()) == 1
        assert err == f"keras-dl serve: error: argument {flag}: {reason}\n"


# --- slow clients -------------------------------------------------------------------------------


PREDICT = b"POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"


def _until_closed(connection, limit=10.0):
    """Everything the server sends until it hangs up, and when it hung up."""
    connection.settimeout(limit)
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received, time.monotonic()


def _answer(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.decode().split("\r\n")[0], json.loads(body)


def _still_open(connection):
    connection.setblocking(False)
    try:
        connection.recv(1)
    except BlockingIOError:
        return True
    finally:
        connection.setblocking(True)
    return False


@pytest.fixture()
def impatient(base):
    """A REST server that gives clients 1 s to send a request, its model already loaded."""
    with ModelServer(base, rest_port=0, grpc_port=None, request_timeout=1.0) as server:
        warm = http_request(server.rest_port, "POST", "/v1/models/m:predict", {"instances": X})
        assert warm[0] == 200
        yield server


@pytest.mark.parametrize("partial", [PREDICT + b'{"inst', b"GET /v1/mod", b"POST /v1/mo",
                                     b"GET /v1/models/m HTTP/1.1\r\nHost: x\r\n"])
def test_a_stalled_client_is_cut_off_while_others_are_served(impatient, partial):
    """Catches a client that sends part of a request (in its body, request line or headers)
    and stalls holding its connection forever or past request_timeout, being answered as if
    its request were whole, or stalling other clients meanwhile."""
    port = impatient.rest_port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as stalled:
        stalled.sendall(partial)
        sent = time.monotonic()
        for _ in range(3):
            assert http_request(port, "POST", "/v1/models/m:predict", {"instances": X}) == (
                200, {"predictions": [[10.0, 10.0]]})
        assert http_request(port, "GET", "/v1/models/m")[0] == 200
        assert time.monotonic() - sent < 0.9 and _still_open(stalled)
        received, closed = _until_closed(stalled)
    assert 0.9 < closed - sent < 3.0
    assert _answer(received) == ("HTTP/1.1 408 Request Timeout", {
        "error": "request not received in full within 1 s (request_timeout)"})


def test_a_trickling_client_is_cut_off_at_the_deadline(impatient):
    """Catches a deadline per read (a socket timeout) instead of per request: a client sending
    one byte every 0.2 s would then hold its connection forever."""
    with socket.create_connection(("127.0.0.1", impatient.rest_port), timeout=10) as client:
        client.sendall(PREDICT)
        sent = time.monotonic()
        stop = threading.Event()

        def trickle():
            while not stop.wait(0.2):
                try:
                    client.send(b" ")
                except OSError:
                    return

        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        try:
            received, closed = _until_closed(client)
        finally:
            stop.set()
            trickler.join()
    assert 0.9 < closed - sent < 3.0
    assert _answer(received)[0] == "HTTP/1.1 408 Request Timeout"


def test_idle_keep_alive_connections_close_and_slow_work_is_not_cut(impatient, monkeypatch):
    """Catches an idle keep-alive connection kept open past request_timeout (or cut sooner),
    a deadline that also cuts a prediction slower than request_timeout (the clock stops once
    the request is read), and a slow but complete request refused."""
    from keras_dl.export.served import ServedModel

    port = impatient.rest_port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"GET /v1/models/m HTTP/1.1\r\nHost: x\r\n\r\n")
        answered = b""
        while b"]}" not in answered:
            answered += client.recv(65536)
        idle_from = time.monotonic()
        received, closed = _until_closed(client)
    assert answered.startswith(b"HTTP/1.1 200 OK") and received == b""  # closed silently
    assert 0.9 < closed - idle_from < 3.0

    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        body = json.dumps({"instances": X}).encode()
        request = (b"POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(body)) + body
        call = ServedModel.__call__
        monkeypatch.setattr(ServedModel, "__call__",
                            lambda self, x: time.sleep(1.5) or call(self, x))
        for piece in range(0, len(request), len(request) // 3 + 1):  # 0.6 s, under 1 s
            client.sendall(request[piece:piece + len(request) // 3 + 1])
            time.sleep(0.2)
        assert _answer(_until_closed(client)[0]) == ("HTTP/1.1 200 OK",
                                                    {"predictions": [[10.0, 10.0]]})


# --- a clean stop -------------------------------------------------------------------------------


WIDE = 1000  # input features of the SIGTERM test's model: big bodies, slow to parse


def _rest_big(port, rows, results):
    """POST `rows` rows of ones (about 3 KB of JSON each) on a fresh connection."""
    row = "[" + ", ".join(["1"] * WIDE) + "]"
    body = ('{"instances": [' + ", ".join([row] * rows) + "]}").encode()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("POST", "/v1/models/wide:predict", body=body)
        response = connection.getresponse()
        results.append((response.status, json.loads(response.read()), time.monotonic()))
    except Exception as error:  # recorded: the assertion names it
        results.append((type(error).__name__, str(error), time.monotonic()))


def _grpc_one(port, results):
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            request = predict_pb2.PredictRequest()
            request.model_spec.name = "wide"
            request.inputs["inputs"].CopyFrom(tf.make_tensor_proto(np.ones((64, WIDE),
                                                                           "float32")))
            response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
                request, timeout=120)
            results.append(("OK", tf.make_ndarray(response.outputs["logits"])))
    except grpc.RpcError as error:
        results.append((error.code().name, error.details()))


def _grpc_until_refused(port, results):
    """Predict in a loop on one channel until a call fails: (code, details or outputs, end)."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "wide"
        request.inputs["inputs"].CopyFrom(tf.make_tensor_proto(np.ones((8, WIDE), "float32")))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                response = stub.Predict(request, timeout=120)
                results.append(("OK", tf.make_ndarray(response.outputs["logits"]),
                                time.monotonic()))
            except grpc.RpcError as error:
                results.append((error.code().name, error.details(), time.monotonic()))
                return


def _never_started(code, details):
    """A gRPC failure that means the server never started the call: its port was closed, or
    the call reached it as it stopped and was refused before any work (gRPC reports that as a
    bare CANCELLED). A call cut short is UNAVAILABLE "Cancelling all calls"."""
    return (code == "UNAVAILABLE" and ("failed to connect" in details
                                       or "Connection refused" in details)
            or (code, details) == ("CANCELLED", "CANCELLED"))


def test_sigterm_answers_every_request_in_flight_then_exits_0(tmp_path):
    """Catches a `keras-dl serve` that, on SIGTERM, drops requests it has already accepted
    (REST handler threads are daemons: the process exiting resets them mid-answer; a gRPC
    stop without grace cancels RPCs: "Cancelling all calls"), keeps accepting connections
    while it drains, does not exit 0 with "stopped", or binds anything but 127.0.0.1 by
    default."""
    from _scripts import load_script

    model = keras_dl.create_model("mlp", input_shape=(WIDE,), hidden_units=(), num_classes=2,
                                  classifier_activation=None)
    model.set_weights([np.full_like(w, 1.0 if w.ndim == 2 else 0.0)
                       for w in model.get_weights()])
    export_saved_model(model, tmp_path, "wide", 1)
    process, rest_port, grpc_port = load_script("bench", "serving_load").start_server(tmp_path)
    try:
        assert listening_addresses(rest_port) == {"127.0.0.1"}
        assert listening_addresses(grpc_port) == {"127.0.0.1"}
        warm = []
        _grpc_one(grpc_port, warm)  # loads the model
        assert warm[0][0] == "OK"
        rest, rpcs = [], [[] for _ in range(4)]
        threads = [threading.Thread(target=_rest_big, args=(rest_port, 10_000, rest))
                   for _ in range(2)]  # 30 MB bodies: seconds to parse
        threads += [threading.Thread(target=_grpc_until_refused, args=(grpc_port, results))
                    for results in rpcs]
        for thread in threads:
            thread.start()
        time.sleep(0.6)
        in_flight = 2 - len(rest)
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        while not connection_refused(rest_port):  # new connections are refused from now on
            assert time.monotonic() - signalled < 30, "still accepting 30 s after SIGTERM"
            time.sleep(0.02)
        refused = time.monotonic()
        for thread in threads:
            thread.join(timeout=120)
        out, err = process.communicate(timeout=60)
        exited = time.monotonic()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert in_flight == 2, "the REST requests finished before SIGTERM: nothing was tested"
    assert [r[0] for r in rest] == [200, 200], rest
    for _, body, _ in rest:
        assert body == {"predictions": [[1000.0, 1000.0]] * 10_000}
    assert max(done for _, _, done in rest) > refused  # refused while still answering
    for results in rpcs:
        *answered, (code, details, _) = results
        assert _never_started(code, details), (code, details)
        assert answered and all(c == "OK" for c, _, _ in answered), answered[-1][:2]
        for _, outputs, _ in answered:
            np.testing.assert_array_equal(outputs, np.full((8, 2), 1000.0))
    # gRPC calls in flight at SIGTERM were answered, not cancelled
    assert any(end > signalled for results in rpcs for code, _, end in results if code == "OK")
    assert process.returncode == 0, err
    assert out.splitlines()[-1] == "stopped" and err == ""
    assert exited - signalled < 60
