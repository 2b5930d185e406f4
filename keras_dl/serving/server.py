"""A local server speaking TensorFlow Serving's REST and gRPC predict APIs.

TensorFlow Serving itself is not installable from the package registries keras_dl's users can
count on, but exports must be tried locally exactly as Serving would be called. This server
answers the subset of its API that prediction clients use, with Serving's request and response
formats, status codes and error bodies:

REST (https://www.tensorflow.org/tfx/serving/api_rest):
- `GET /v1/models/NAME[/versions/V]` — model version status;
- `GET /v1/models/NAME[/versions/V]/metadata` — the signature definitions;
- `POST /v1/models/NAME[/versions/V]:predict` — `{"instances": [...]}` (row format, answered
  with `{"predictions": [...]}`) or `{"inputs": ...}` (columnar, answered with
  `{"outputs": ...}`); errors come back as `{"error": "..."}` with Serving's HTTP status.

gRPC: `tensorflow.serving.PredictionService/Predict` and `/GetModelMetadata`, and
`tensorflow.serving.ModelService/GetModelStatus`, with the official `tensorflow-serving-api`
protos, so the official stubs are the client.

The newest version of each model under the base directory is served by default; a version
exported while the server runs is picked up on the next request.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from concurrent import futures
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from keras_dl.export import SIGNATURE
from keras_dl.serving.repository import ModelRepository, ServableNotFound

MAX_REQUEST_BYTES = 32 * 1024 * 1024
_ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
    r"(?P<action>:predict|/metadata)?/?$"
)


class RequestError(ValueError):
    """A request Serving would answer with INVALID_ARGUMENT (HTTP 400)."""


def _signature_defs(path):
    """The SignatureDef protos of the SavedModel at `path`, read from saved_model.pb."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((path / "saved_model.pb").read_bytes())
    return {k: v for k, v in saved.meta_graphs[0].signature_def.items()
            if not k.startswith("__")}


def predict(model, signature_name, inputs):
    """Run `model` on the numpy `inputs` (a dict name → array, or a bare array)."""
    if signature_name not in ("", SIGNATURE):
        raise RequestError(
            f"Serving signature name: \"{signature_name}\" not found in signature def; "
            f"this server serves \"{SIGNATURE}\""
        )
    if isinstance(inputs, dict):
        unknown = sorted(set(inputs) - {model.input_name})
        if unknown or model.input_name not in inputs:
            raise RequestError(
                f"input names {sorted(inputs)} do not match the signature's input "
                f"\"{model.input_name}\""
            )
        inputs = inputs[model.input_name]
    try:
        array = np.asarray(inputs, dtype=model.input_spec.dtype.as_numpy_dtype)
    except (TypeError, ValueError) as error:
        raise RequestError(f"input is not a numeric tensor of one shape: {error}") from None
    try:
        return model(array)
    except ValueError as error:
        raise RequestError(str(error)) from None


class ModelServer:
    """Serves `model_base` over REST and gRPC until `stop()`.

    Args:
        model_base: directory of `NAME/VERSION/` SavedModels.
        host: address to bind (127.0.0.1 by default: only this machine).
        rest_port, grpc_port: ports; 0 picks a free one, None disables that protocol.
        max_request_bytes: larger requests are refused (HTTP 413 / gRPC RESOURCE_EXHAUSTED).

    Example:
    ```python
    server = ModelServer("saved_models", rest_port=0, grpc_port=0).start()
    print(server.rest_port, server.grpc_port)
    server.stop()
    ```
    """

    def __init__(self, model_base, host="127.0.0.1", rest_port=8501, grpc_port=8500,
                 max_request_bytes=MAX_REQUEST_BYTES):
        if rest_port is None and grpc_port is None:
            raise ValueError("enable at least one of the REST and gRPC ports")
        for label, port in (("REST", rest_port), ("gRPC", grpc_port)):
            if port is not None and not (isinstance(port, int) and 0 <= port <= 65535):
                raise ValueError(f"{label} port must be an integer in 0..65535, got {port!r}")
        self.repository = ModelRepository(model_base)
        self.host = host
        self.rest_port, self.grpc_port = rest_port, grpc_port
        self.max_request_bytes = max_request_bytes
        self._http = self._grpc = self._thread = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self):
        if self.rest_port is not None:
            self._http = ThreadingHTTPServer((self.host, self.rest_port), _rest_handler(self))
            self._http.daemon_threads = True
            self.rest_port = self._http.server_address[1]
            self._thread = threading.Thread(target=self._http.serve_forever, daemon=True,
                                            name="keras_dl-rest")
            self._thread.start()
        if self.grpc_port is not None:
            self._grpc = _grpc_server(self)
            self.grpc_port = self._grpc.add_insecure_port(f"{self.host}:{self.grpc_port}")
            if not self.grpc_port:
                self.stop()
                raise OSError(f"could not bind the gRPC port on {self.host}")
            self._grpc.start()
        return self

    def stop(self):
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._grpc is not None:
            self._grpc.stop(grace=1).wait()
            self._grpc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- shared by both protocols ------------------------------------------------------------

    def model_status(self, name, version=None):
        versions = self.repository.versions(name)
        if not versions or (version is not None and version not in versions):
            which = f"Specific({name}, {version})" if version is not None else f"Latest({name})"
            raise ServableNotFound(f"Servable not found for request: {which}")
        shown = [version] if version is not None else versions[::-1]
        return [{"version": str(v), "state": "AVAILABLE",
                 "status": {"error_code": "OK", "error_message": ""}} for v in shown]


# --- REST ------------------------------------------------------------------------------------


def _json_ready(array):
    return array.tolist()


def _rest_predict(server, name, version, body):
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object")
    if "instances" not in body and "inputs" not in body:
        raise RequestError("Missing 'inputs' or 'instances' key")
    if "instances" in body and "inputs" in body:
        raise RequestError("Only one of 'inputs' or 'instances' may be given")
    _, model = server.repository.get(name, version)
    signature_name = body.get("signature_name", SIGNATURE)
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise RequestError("'instances' must be a non-empty JSON list")
        if all(isinstance(row, dict) for row in instances):
            keys = {k for row in instances for k in row}
            inputs = {k: [row.get(k) for row in instances] for k in keys}
        else:
            inputs = instances
        outputs = predict(model, signature_name, inputs)
        if len(outputs) == 1:
            (values,) = outputs.values()
            return {"predictions": _json_ready(values)}
        rows = len(next(iter(outputs.values())))
        return {"predictions": [{k: _json_ready(v[i]) for k, v in outputs.items()}
                                for i in range(rows)]}
    outputs = predict(model, signature_name, body["inputs"])
    if len(outputs) == 1:
        (values,) = outputs.values()
        return {"outputs": _json_ready(values)}
    return {"outputs": {k: _json_ready(v) for k, v in outputs.items()}}


def _rest_metadata(server, name, version):
    from google.protobuf import json_format

    served_version, model = server.repository.get(name, version)
    signatures = {key: json_format.MessageToDict(value)
                  for key, value in _signature_defs(model.path).items()}
    return {"model_spec": {"name": name, "signature_name": "", "version": str(served_version)},
            "metadata": {"signature_def": {"signature_def": signatures}}}


def _rest_handler(server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "keras_dl-serving"

        def setup(self):
            super().setup()
            # Small responses on a keep-alive connection would otherwise wait for the client's
            # delayed ACK (Nagle's algorithm): about 40 ms a request.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format, *args):  # noqa: A002  (the base class's name)
            pass  # quiet: a local test server

        def _send(self, status, payload):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self._headers_buffer.append(b"\r\n")  # end the headers and send them with the
            self.wfile.write(b"".join(self._headers_buffer) + data)  # body: one write
            self._headers_buffer = []

        def _route(self):
            match = _ROUTE.match(self.path.split("?", 1)[0])
            if not match:
                raise LookupError(f"Malformed request: {self.command} {self.path}")
            version = match["version"]
            if version is not None:
                if not version.isdigit():
                    raise RequestError(f"version must be a non-negative integer, got {version!r}")
                version = int(version)
            return match["name"], version, match["action"]

        def _answer(self, work):
            try:
                self._send(HTTPStatus.OK, work())
            except ServableNotFound as error:
                self._send(HTTPStatus.NOT_FOUND, {"error": str(error)})
            except LookupError as error:
                self._send(HTTPStatus.NOT_FOUND, {"error": str(error)})
            except RequestError as error:
                self._send(HTTPStatus.BAD_REQUEST, {"error": str(error)})
            except Exception as error:  # a server never dies of one request
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR,
                           {"error": f"{type(error).__name__}: {error}"})

        def do_GET(self):  # noqa: N802  (http.server's naming)
            def work():
                name, version, action = self._route()
                if action == ":predict":
                    raise RequestError("predict takes POST")
                if action == "/metadata":
                    return _rest_metadata(server, name, version)
                return {"model_version_status": server.model_status(name, version)}

            self._answer(work)

        def do_POST(self):  # noqa: N802
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > server.max_request_bytes:
                # Read (and drop) a moderately oversized body so the client, still sending,
                # gets the 413 rather than a broken pipe; hang up on anything far larger.
                remaining = length if 0 < length <= 4 * server.max_request_bytes else 0
                while remaining > 0:
                    remaining -= len(self.rfile.read(min(remaining, 1 << 20)) or b"x" * remaining)
                self.close_connection = True
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {
                    "error": f"request of {length} bytes is larger than the server's limit of "
                             f"{server.max_request_bytes} bytes"})
                return
            raw = self.rfile.read(length)

            def work():
                name, version, action = self._route()
                if action != ":predict":
                    raise RequestError(f"POST is for :predict, not {self.path}")
                try:
                    body = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as error:
                    raise RequestError(f"JSON Parse error: {error}") from None
                return _rest_predict(server, name, version, body)

            self._answer(work)

    return Handler


# --- gRPC ------------------------------------------------------------------------------------


def _grpc_server(model_server):
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import (
        get_model_metadata_pb2,
        get_model_status_pb2,
        model_service_pb2_grpc,
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    def requested_version(spec):
        return spec.version.value if spec.HasField("version") else None

    def fail(context, error):
        if isinstance(error, ServableNotFound):
            context.abort(grpc.StatusCode.NOT_FOUND, str(error))
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))

    class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802  (the proto's naming)
            try:
                name = request.model_spec.name
                version, model = model_server.repository.get(
                    name, requested_version(request.model_spec))
                inputs = {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
                outputs = predict(model, request.model_spec.signature_name, inputs)
            except (ServableNotFound, RequestError) as error:
                fail(context, error)
            except Exception as error:  # a server never dies of one request
                context.abort(grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}")
            response = predict_pb2.PredictResponse()
            response.model_spec.name = name
            response.model_spec.version.value = version
            response.model_spec.signature_name = SIGNATURE
            for key, value in outputs.items():
                if request.output_filter and key not in request.output_filter:
                    continue
                response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
            return response

        def GetModelMetadata(self, request, context):  # noqa: N802
            if list(request.metadata_field) != ["signature_def"]:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              "metadata_field must be exactly ['signature_def']")
            try:
                version, model = model_server.repository.get(
                    request.model_spec.name, requested_version(request.model_spec))
            except ServableNotFound as error:
                fail(context, error)
            signature_map = get_model_metadata_pb2.SignatureDefMap()
            for key, value in _signature_defs(model.path).items():
                signature_map.signature_def[key].CopyFrom(value)
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = request.model_spec.name
            response.model_spec.version.value = version
            response.metadata["signature_def"].Pack(signature_map)
            return response

    class ModelService(model_service_pb2_grpc.ModelServiceServicer):
        def GetModelStatus(self, request, context):  # noqa: N802
            try:
                statuses = model_server.model_status(
                    request.model_spec.name, requested_version(request.model_spec))
            except ServableNotFound as error:
                fail(context, error)
            response = get_model_status_pb2.GetModelStatusResponse()
            for status in statuses:
                entry = response.model_version_status.add()
                entry.version = int(status["version"])
                entry.state = get_model_status_pb2.ModelVersionStatus.AVAILABLE
            return response

    limit = model_server.max_request_bytes
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=[
        ("grpc.max_receive_message_length", limit),
        ("grpc.max_send_message_length", limit),
    ])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(),
                                                                        server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(), server)
    return server
