"""TensorFlow Serving's REST API over `http.server`, with the limits a network service needs.

- A request must arrive whole (request line, headers and body) within `request_timeout`
  seconds of the connection being ready for it; a client that stalls or trickles is cut off
  (HTTP 408 if it had sent part of a request, silently if it had sent nothing, as with an idle
  keep-alive connection), while every other connection is served by its own thread
  (`connections.py` keeps the deadlines).
- A body nested deeper than `max_json_depth` arrays/objects is refused (HTTP 400) before it
  is parsed: Python's `json` recurses once per level.
- `RestServer.stop()` closes the listening socket, closes connections on which no request has
  begun to arrive, and answers (with `Connection: close`) every request begun before it
  returns.
"""

from __future__ import annotations

import json
import re
import socket
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from keras_dl.export import SIGNATURE
from keras_dl.serving.calls import RequestError, predict, signature_defs
from keras_dl.serving.connections import RequestTracker
from keras_dl.serving.repository import ServableNotFound

ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
    r"(?P<action>:predict|/metadata)?/?$"
)
_CHUNK = 1 << 20  # bytes scanned at once when measuring a body's nesting depth


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in the JSON text `raw`, without parsing it.

    Brackets inside strings do not count (escaped quotes and backslashes are skipped first).
    Linear time and memory bounded by one chunk, whatever the body, so a hostile body costs
    no more to measure than to read.
    """
    text = raw.replace(b"\\\\", b"__").replace(b'\\"', b"__")
    depth = deepest = quotes = 0
    for start in range(0, len(text), _CHUNK):
        chunk = np.frombuffer(text, np.uint8, count=min(_CHUNK, len(text) - start),
                              offset=start)
        is_quote = chunk == ord('"')
        in_string = (np.cumsum(is_quote, dtype=np.int64) + quotes) % 2 == 1
        steps = (((chunk == ord("[")) | (chunk == ord("{"))).astype(np.int8)
                 - ((chunk == ord("]")) | (chunk == ord("}"))))
        steps[in_string] = 0
        running = np.cumsum(steps, dtype=np.int64) + depth
        deepest, depth = max(deepest, int(running.max())), int(running[-1])
        quotes += int(is_quote.sum())
    return deepest


def parse_body(raw: bytes, max_depth: int):
    """The JSON body `raw`, after checking its nesting depth; `RequestError` else."""
    if raw.count(b"[") + raw.count(b"{") > max_depth:  # else it cannot be too deep
        depth = json_depth(raw)
        if depth > max_depth:
            raise RequestError(f"JSON body is nested {depth} levels deep; the server's limit "
                               f"is {max_depth} (max_json_depth)")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestError(f"JSON Parse error: {error}") from None


def _json_ready(array):
    array = np.asarray(array)
    if array.dtype.kind in "OS":  # strings (a translation) come out of TensorFlow as bytes
        return np.vectorize(_text, otypes=[object])(array).tolist()
    return array.tolist()


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _rest_predict(server, name, version, body):
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object")
    if "instances" not in body and "inputs" not in body:
        raise RequestError("Missing 'inputs' or 'instances' key")
    if "instances" in body and "inputs" in body:
        raise RequestError("Only one of 'inputs' or 'instances' may be given")
    _, model = server.repository.get(name, version)
    signature_name = body.get("signature_name", SIGNATURE)
    if not isinstance(signature_name, str):
        raise RequestError(f"'signature_name' must be a string, got {signature_name!r}")
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
                  for key, value in signature_defs(model.path).items()}
    return {"model_spec": {"name": name, "signature_name": "", "version": str(served_version)},
            "metadata": {"signature_def": {"signature_def": signatures}}}


class RestServer(ThreadingHTTPServer):
    """A thread per connection, deadlines on reading requests, and a drain for clean stops."""

    daemon_threads = True  # a thread stuck past the drain's grace does not keep the process

    def __init__(self, address, model_server):
        self.requests = RequestTracker(model_server.request_timeout)
        try:
            super().__init__(address, _rest_handler(model_server))
        except BaseException:
            self.requests.close()
            raise

    def process_request(self, request, client_address):
        self.requests.accepted()
        super().process_request(request, client_address)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)
        # else a client that hung up mid-answer (broken pipe, reset): nothing to report

    def stop(self, grace: float) -> bool:
        """Stop accepting connections, then drain (see `RequestTracker.drain`); True when every
        started request was answered within `grace` seconds."""
        self.shutdown()
        self.server_close()  # the listening socket: new connections are refused from here
        try:
            return self.requests.drain(grace)
        finally:
            self.requests.close()


def _rest_handler(server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "keras_dl-serving"
        default_request_version = "HTTP/1.0"  # not 0.9: every answer has a status line
        registered = False  # known to the request tracker
        counted = False  # counted among the requests being answered
        reading = False  # its request line has arrived
        cut_off = None  # (status, message) once the watchdog or a drain cut the read side

        def setup(self):
            super().setup()
            # Small responses on a keep-alive connection would otherwise wait for the client's
            # delayed ACK (Nagle's algorithm): about 40 ms a request.
            try:
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass  # the client is already gone: its handle() finds out

        def log_message(self, format, *args):  # noqa: A002  (the base class's name)
            pass  # quiet: a local test server

        def handle_one_request(self):
            requests = self.server.requests
            if not requests.wait_for_request(self):
                self.close_connection = True
                return
            self.connection.settimeout(None)  # reads end by the watchdog's deadline
            try:
                super().handle_one_request()
            finally:
                requests.finished(self)

        def finish(self):
            try:
                super().finish()
            finally:
                self.server.requests.finished(self)

        def parse_request(self):
            self.reading = True
            return super().parse_request()

        def _begin(self):
            """True if the whole request arrived in time (then it is answered even while the
            server stops); else the client gets the cut-off's one line."""
            if self.server.requests.answering(self):
                self.connection.settimeout(server.request_timeout)  # a client not reading
                return True
            self._refuse_cut_off()
            return False

        def _refuse_cut_off(self):
            status, message = self.cut_off or (HTTPStatus.BAD_REQUEST, "incomplete request")
            self.close_connection = True
            self._send(status, {"error": message})

        def send_error(self, code, message=None, explain=None):
            """http.server's own refusals (bad request line, too many headers), as one JSON
            line like every other error; a request cut short by a deadline says so."""
            self.close_connection = True
            if self.cut_off is not None:
                self._refuse_cut_off()
                return
            self._send(code, {"error": message or HTTPStatus(code).phrase})

        def _send(self, status, payload):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection or self.server.requests.draining:
                self.send_header("Connection", "close")
            self.end_headers_and_body(data)

        def end_headers_and_body(self, data):
            """End the headers and send them with the body, in one write."""
            self._headers_buffer.append(b"\r\n")
            self.wfile.write(b"".join(self._headers_buffer) + data)
            self._headers_buffer = []

        def _route(self):
            match = ROUTE.match(self.path.split("?", 1)[0])
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
            if not self._begin():
                return

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
                self._refuse_oversized(length)
                return
            raw = self.rfile.read(length)
            if len(raw) < length:  # cut off, or the client hung up, part-way through the body
                self._refuse_cut_off()
                return
            if not self._begin():
                return

            def work():
                name, version, action = self._route()
                if action != ":predict":
                    raise RequestError(f"POST is for :predict, not {self.path}")
                return _rest_predict(server, name, version,
                                     parse_body(raw, server.max_json_depth))

            self._answer(work)

        def _refuse_oversized(self, length):
            # Read (and drop) a moderately oversized body so the client, still sending, gets
            # the 413 rather than a broken pipe; hang up on anything far larger.
            remaining = length if 0 < length <= 4 * server.max_request_bytes else 0
            while remaining > 0:
                remaining -= len(self.rfile.read(min(remaining, 1 << 20)) or b"x" * remaining)
            self.close_connection = True
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {
                "error": f"request of {length} bytes is larger than the server's limit of "
                         f"{server.max_request_bytes} bytes"})

    return Handler
