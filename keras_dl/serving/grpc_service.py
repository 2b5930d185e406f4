"""TensorFlow Serving's gRPC API: `PredictionService/Predict`, `/GetModelMetadata` and
`ModelService/GetModelStatus`, with the official `tensorflow-serving-api` protos."""

from __future__ import annotations

import socket
from concurrent import futures

from keras_dl.export import SIGNATURE
from keras_dl.serving.calls import RequestError, SignatureNotFound, predict, signature_defs
from keras_dl.serving.connections import listen_refusal
from keras_dl.serving.repository import ServableNotFound


def bind(server, host: str, port: int) -> int:
    """Bind `server` to `host:port` and return the port bound; `OSError` naming `host:port`
    when it cannot be had (in use, or an address this machine does not have).

    A port in use is found first with a plain socket, so the refusal carries the system's
    reason and gRPC logs nothing; gRPC's own failure (a bare RuntimeError) is converted too.
    """
    if port:
        _probe(host, port)
    try:
        bound = server.add_insecure_port(f"{_address(host)}:{port}")
    except RuntimeError:
        bound = 0
    if not bound:
        raise OSError(f"cannot listen for gRPC on {host}:{port}: address in use or not "
                      "available; choose another --grpc-port (0 picks a free one)")
    return bound


def _address(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _probe(host: str, port: int):
    """Raise `OSError` naming `host:port` if a plain listening socket cannot bind there."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC does
            probe.bind(address)
    except OSError as error:
        raise listen_refusal("gRPC", host, port, error) from None


def grpc_server(model_server):
    """A grpc.Server with the PredictionService and ModelService of `model_server` (not bound
    nor started). SO_REUSEPORT is off, so a port another server holds is refused rather than
    shared with it (gRPC turns it on by default: two servers would split the connections)."""
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
        if isinstance(error, SignatureNotFound):  # as TF Serving's Predict answers it
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, error.grpc_message)
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
            response.model_spec.signature_name = request.model_spec.signature_name or SIGNATURE
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
            for key, value in signature_defs(model.path).items():
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
        ("grpc.so_reuseport", 0),
    ])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(),
                                                                        server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(), server)
    return server
