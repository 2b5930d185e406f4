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

Hardening (docs/export_and_serving.md, "Hardening and load"): it binds 127.0.0.1 unless told
otherwise and refuses a port already taken (gRPC's SO_REUSEPORT is off), serves only what lies
inside the model base (`repository.py`), caps request size and JSON nesting, cuts off clients
that send a request too slowly (`rest.py`), and stops cleanly: no new connections, every
request already read is answered.
"""

from __future__ import annotations

import threading

from keras_dl.serving.connections import listen_refusal
from keras_dl.serving.repository import ModelRepository, ServableNotFound

MAX_REQUEST_BYTES = 32 * 1024 * 1024
MAX_JSON_DEPTH = 400
REQUEST_TIMEOUT = 30.0  # seconds a client has to send a whole request
STOP_GRACE = 30.0  # seconds stop() waits for requests already read


class ModelServer:
    """Serves `model_base` over REST and gRPC until `stop()`.

    Args:
        model_base: directory of `NAME/VERSION/` SavedModels.
        host: address to bind (127.0.0.1 by default: only this machine).
        rest_port, grpc_port: ports; 0 picks a free one, None disables that protocol. A port
            in use is refused with `OSError` naming `host:port`.
        max_request_bytes: larger requests are refused (HTTP 413 / gRPC RESOURCE_EXHAUSTED).
        max_json_depth: REST bodies nested deeper (arrays and objects) are refused (HTTP 400)
            before they are parsed.
        request_timeout: seconds a REST client has to send a whole request (request line,
            headers, body) once its connection is ready for one; slower ones are cut off.

    Example:
    ```python
    server = ModelServer("saved_models", rest_port=0, grpc_port=0).start()
    print(server.rest_port, server.grpc_port)
    server.stop()
    ```
    """

    def __init__(self, model_base, host="127.0.0.1", rest_port=8501, grpc_port=8500,
                 max_request_bytes=MAX_REQUEST_BYTES, max_json_depth=MAX_JSON_DEPTH,
                 request_timeout=REQUEST_TIMEOUT):
        if rest_port is None and grpc_port is None:
            raise ValueError("enable at least one of the REST and gRPC ports")
        for label, port in (("REST", rest_port), ("gRPC", grpc_port)):
            if port is not None and not (isinstance(port, int) and 0 <= port <= 65535):
                raise ValueError(f"{label} port must be an integer in 0..65535, got {port!r}")
        if not (isinstance(max_json_depth, int) and not isinstance(max_json_depth, bool)
                and max_json_depth >= 1):
            raise ValueError(f"max_json_depth must be a positive integer, got {max_json_depth!r}")
        if (isinstance(request_timeout, bool) or not isinstance(request_timeout, (int, float))
                or not 0 < request_timeout < float("inf")):
            raise ValueError("request_timeout must be a positive number of seconds, got "
                             f"{request_timeout!r}")
        self.repository = ModelRepository(model_base)
        self.host = host
        self.rest_port, self.grpc_port = rest_port, grpc_port
        self.max_request_bytes = max_request_bytes
        self.max_json_depth = max_json_depth
        self.request_timeout = float(request_timeout)
        self._http = self._grpc = self._thread = None
        self._stopping = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self):
        """Bind both ports and serve in background threads; `OSError` naming the host:port
        that cannot be bound (nothing is left listening then)."""
        try:
            if self.rest_port is not None:
                self._start_rest()
            if self.grpc_port is not None:
                self._start_grpc()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_rest(self):
        from keras_dl.serving.rest import RestServer

        try:
            self._http = RestServer((self.host, self.rest_port), self)
        except OSError as error:
            raise listen_refusal("REST", self.host, self.rest_port, error) from None
        self.rest_port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.1,),
                                        daemon=True, name="keras_dl-rest")
        self._thread.start()

    def _start_grpc(self):
        from keras_dl.serving import grpc_service

        server = grpc_service.grpc_server(self)
        self.grpc_port = grpc_service.bind(server, self.host, self.grpc_port)
        server.start()
        self._grpc = server

    def stop(self, grace: float = STOP_GRACE) -> bool:
        """Stop taking connections on both ports at once, answer every request already read
        (waiting up to `grace` seconds), then return; True when none was cut short.
        Connections idle between requests are closed. Calling it again does nothing."""
        with self._stopping:
            http, self._http = self._http, None
            grpc, self._grpc = self._grpc, None
            grpc_stopped = grpc.stop(grace) if grpc is not None else None  # refuses new RPCs
            drained = http.stop(grace) if http is not None else True
            if grpc_stopped is not None:
                grpc_stopped.wait()
            return drained

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
