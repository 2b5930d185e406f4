"""`keras-dl serve` killed with SIGKILL under load, then restarted on the same ports; and an
export killed in its staging while the server is polled (issue 36; how a kill is placed:
tests/_faults.py).

The server is `keras-dl serve` (`keras_dl.cli.main(["serve", ...])`) in a child of a fork
server, as every command in the fault tests is, so a restart costs no TensorFlow import; the
test SIGKILLs that child from outside at moments drawn from `random.Random(SEED)`. The clients
are real: a keep-alive HTTP connection (`http.client`) and a gRPC channel with the official
TensorFlow Serving stub, in threads, sending predictions the whole time and reconnecting when
the server is gone. The model is bench/serving_load.py's: version V maps an integer row x to
V · sum(x) exactly, so every answer shows which version gave it.
"""

import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import pytest
import tensorflow as tf
from _faults import ForkServer, KillPoint
from _scripts import load_script
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

bench = load_script("bench", "serving_load")
NAME = bench.NAME
SEED = 36
CHILD_TIMEOUT = 180  # seconds a served child may live: a test that loses one never hangs CI
PAUSE = 0.01  # seconds between a client's requests (the machine has other work)
DOWN = (OSError, http.client.HTTPException)  # the server is gone (killed, not yet restarted)


@pytest.fixture(scope="module")
def fork_servers():
    """Two fork servers, started side by side: one runs `serve`, the other `export`."""
    with ThreadPoolExecutor(2) as pool:
        serving, exporting = pool.map(lambda _: ForkServer(), range(2))
    try:
        yield serving, exporting
    finally:
        serving.close()
        exporting.close()


@pytest.fixture(scope="module")
def model_base(tmp_path_factory):
    """`models/load/{1,2}` exported with keras_dl's exporter, and version 3 as a .keras file."""
    root = tmp_path_factory.mktemp("serve_faults")
    for version in (1, 2):
        bench.export_version(root / "models", version)
    bench.constant_model(3).save(root / "v3.keras")
    return root


def tree(root) -> dict:
    """Every path under `root` (hidden ones too) → a digest of its kind, mode and content."""
    found = {}
    for path in sorted(Path(root).rglob("*")):
        mode = path.lstat().st_mode
        if path.is_symlink():
            content = os.readlink(path).encode()
        elif path.is_dir():
            content = b"directory"
        else:
            content = path.read_bytes()
        found[path.relative_to(root).as_posix()] = hashlib.sha256(
            str(mode).encode() + b"\0" + content).hexdigest()
    return found


def lingering(port) -> list[str]:
    """States (hex, as /proc/net/tcp gives them) of the sockets bound to local TCP `port` that
    are not listening: connections a killed server left (FIN_WAIT, TIME_WAIT, ...). While any
    is there, binding `port` without SO_REUSEADDR fails with EADDRINUSE."""
    states = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] != "0A":
                    states.append(fields[3])
    return states


class ServeChild:
    """`keras-dl ARGV` in a child of `fork_server` (which waits for it in a thread), to be
    SIGKILLed from outside."""

    def __init__(self, fork_server, argv, workdir):
        self.outcome = None
        self._runner = threading.Thread(target=self._run, args=(fork_server, argv, workdir),
                                        daemon=True)
        self._runner.start()
        self.pid = self._child_of(fork_server.process.pid)

    def _run(self, fork_server, argv, workdir):
        self.outcome = fork_server.run(argv, workdir=workdir, timeout=CHILD_TIMEOUT)

    def _child_of(self, parent):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self._runner.is_alive():
            for entry in os.listdir("/proc"):
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except (OSError, ValueError):
                    continue
                if entry.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                    return int(entry)
            time.sleep(0.01)
        return None

    def wait_ready(self, rest_port, grpc_port, limit=60.0):
        """Return once both ports answer; fail at once if the child exited (a port refused)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.outcome is not None or self.pid is None:
                self._runner.join()
                pytest.fail(f"keras-dl serve exited with {self.outcome.code}: "
                            f"{self.outcome.stderr.strip()[-600:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", rest_port, timeout=5)
                connection.request("GET", f"/v1/models/{NAME}")
                assert connection.getresponse().status == 200
                connection.close()
                with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
                    grpc.channel_ready_future(channel).result(timeout=5)
                return
            except (*DOWN, grpc.FutureTimeoutError):
                time.sleep(0.05)
        pytest.fail(f"keras-dl serve did not answer within {limit:g} s")

    def kill(self):
        if self.outcome is None and self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
        self._runner.join(timeout=60)
        return self.outcome


class Clients:
    """A REST and a gRPC client predicting on the newest version, from threads, until
    `stop()`; each answer is checked against `listings`, the version lists the server may
    show at the moment (newest first): a prediction must be exactly one of their newest
    versions' output, and each client also asks which versions are listed (REST model
    status, REST metadata, gRPC GetModelStatus). A connection failure (the server is gone)
    is downtime; anything else that is not such an answer goes to `wrong`."""

    def __init__(self, rest_port, grpc_port, listings):
        self.listings = listings
        self.answers = {"REST": [], "gRPC": []}  # (time, newest version that answered)
        self.wrong = []
        self._stop = threading.Event()
        self._x = np.random.default_rng(SEED).integers(0, 4, (2, bench.FEATURES)).astype(
            "float32")
        self._threads = [threading.Thread(target=self._loop, args=(protocol, call, port),
                                          daemon=True)
                         for protocol, call, port in (("REST", self._rest, rest_port),
                                                      ("gRPC", self._grpc, grpc_port))]
        for thread in self._threads:
            thread.start()

    def _check(self, protocol, what, version, outputs=None):
        allowed = [listing for listing in self.listings if version in (None, listing[0])]
        if outputs is not None:
            allowed = [listing for listing in allowed
                       if np.array_equal(outputs, bench.expected(listing[0], self._x))]
        if not allowed:
            self.wrong.append(f"{protocol} {what}: version {version}, "
                              f"{np.asarray(outputs).tolist() if outputs is not None else ''}"
                              f" while the server may show {self.listings}")
        return allowed[0][0] if allowed else None

    def _rest(self, connection):
        def get(method, path, body=None):
            connection.request(method, path, body)
            response = connection.getresponse()
            data = response.read()
            if response.status != 200:
                self.wrong.append(f"REST {method} {path}: HTTP {response.status} {data[:200]}")
                return None
            return json.loads(data)

        body = get("POST", f"/v1/models/{NAME}:predict", json.dumps({"instances":
                                                                     self._x.tolist()}))
        newest = body and self._check("REST", "predict", None, body["predictions"])
        status = get("GET", f"/v1/models/{NAME}")
        if status and [int(s["version"]) for s in status["model_version_status"]] not in \
                self.listings:
            self.wrong.append(f"REST status lists {status} while the server may show "
                              f"{self.listings}")
        metadata = get("GET", f"/v1/models/{NAME}/metadata")
        if metadata:
            self._check("REST", "metadata", int(metadata["model_spec"]["version"]))
        return newest

    def _grpc(self, channel):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = NAME
        request.inputs["inputs"].CopyFrom(tf.make_tensor_proto(self._x))
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
            request, timeout=30)
        newest = self._check("gRPC", "predict", response.model_spec.version.value,
                             tf.make_ndarray(response.outputs["logits"]))
        status_request = get_model_status_pb2.GetModelStatusRequest()
        status_request.model_spec.name = NAME
        listed = [s.version for s in model_service_pb2_grpc.ModelServiceStub(
            channel).GetModelStatus(status_request, timeout=30).model_version_status]
        if listed not in self.listings:
            self.wrong.append(f"gRPC status lists {listed} while the server may show "
                              f"{self.listings}")
        return newest

    def _loop(self, protocol, call, port):
        connection = None
        while not self._stop.wait(PAUSE):
            try:
                if connection is None:
                    connection = (http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                                  if protocol == "REST" else grpc.insecure_channel(
                                      f"127.0.0.1:{port}",  # no reconnect backoff to wait out
                                      options=[("grpc.use_local_subchannel_pool", 1)]))
                newest = call(connection)
                if newest is not None:
                    self.answers[protocol].append((time.monotonic(), newest))
            except (*DOWN, grpc.RpcError) as error:
                if isinstance(error, grpc.RpcError) and (
                        error.code() != grpc.StatusCode.UNAVAILABLE):
                    self.wrong.append(f"gRPC: {error.code().name}: {error.details()}")
                connection.close()
                connection = None
                time.sleep(0.05)
        if connection is not None:
            connection.close()

    def answered_since(self, since, version=None) -> bool:
        return all(any(when > since and version in (None, newest) for when, newest in answers)
                   for answers in self.answers.values())

    def answered_within(self, windows) -> bool:
        """True if both clients had an answer inside one of the `(begin, end)` windows."""
        return all(any(begin < when < end for when, _ in answers for begin, end in windows)
                   for answers in self.answers.values())

    def wait_answered(self, since, version=None, limit=60.0):
        """Wait until both clients had an answer after `since` (from `version`, if given)."""
        deadline = time.monotonic() + limit
        while not self.answered_since(since, version):
            assert self.wrong == []
            assert time.monotonic() < deadline, (
                f"no answer from version {version} over both protocols within {limit:g} s: "
                f"{self.wrong[:3]}")
            time.sleep(0.02)

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def hold_idle_connections(rest_port, grpc_port):
    """A keep-alive REST connection and a gRPC channel, each used once and then idle: what a
    killed server's kernel closes with a FIN, leaving the server's side of it on the port."""
    rest = http.client.HTTPConnection("127.0.0.1", rest_port, timeout=30)
    rest.request("GET", f"/v1/models/{NAME}")
    rest.getresponse().read()
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}",
                                    options=[("grpc.use_local_subchannel_pool", 1)])
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = NAME
    model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(request, timeout=30)
    return rest, channel


def serve_argv(base, rest_port, grpc_port):
    return ["serve", "--model-base", base, "--rest-port", rest_port, "--grpc-port", grpc_port]


def test_a_killed_server_restarts_on_its_ports_at_once_and_serves_the_same(fork_servers,
                                                                           model_base):
    """Catches a restart after SIGKILL refused with "address in use" (a REST server without
    `allow_reuse_address`, a gRPC port probe without SO_REUSEADDR: the killed server's
    connections still hold the ports, asserted), a restarted server that lists or answers
    other versions or wrong values, and a server that writes anything under its model base
    (every file, folder and mode hashed before and after each kill)."""
    serving, _ = fork_servers
    base = model_base / "models"
    draw = random.Random(SEED)
    rest_port, grpc_port = bench.free_port(), bench.free_port()
    argv = serve_argv(base, rest_port, grpc_port)
    before = tree(base)
    moments = [("just after it answers", False, draw.uniform(0, 0.3)),
               *[("under load", True, draw.uniform(0.1, 1.5)) for _ in range(2)]]
    clients = Clients(rest_port, grpc_port, listings=[[2, 1]])
    child = None
    try:
        for label, warm, delay in moments:
            child = ServeChild(serving, argv, model_base)
            child.wait_ready(rest_port, grpc_port)  # fails if a port was refused
            if warm:
                clients.wait_answered(since=time.monotonic())
            idle = hold_idle_connections(rest_port, grpc_port)
            time.sleep(delay)
            assert child.kill().killed, label
            left = {port: lingering(port) for port in (rest_port, grpc_port)}
            for connection in idle:
                connection.close()
            assert all(left.values()), f"{label}: the kill left the ports free: {left}"
            assert tree(base) == before, label
        child = ServeChild(serving, argv, model_base)
        child.wait_ready(rest_port, grpc_port)
        restarted = time.monotonic()
        clients.wait_answered(since=restarted, version=2)
        assert all(answers for answers in clients.answers.values())
        x = np.arange(bench.FEATURES, dtype="float32")[None]
        connection = http.client.HTTPConnection("127.0.0.1", rest_port, timeout=30)
        connection.request("POST", f"/v1/models/{NAME}/versions/1:predict",
                           json.dumps({"instances": x.tolist()}))
        answer = json.loads(connection.getresponse().read())["predictions"]
        connection.close()
        np.testing.assert_array_equal(answer, bench.expected(1, x))
    finally:
        clients.stop()
        if child is not None:
            child.kill()
    assert clients.wrong == []
    assert tree(base) == before


def test_an_export_killed_while_the_server_is_polled_is_never_served(fork_servers,
                                                                     model_base, tmp_path):
    """Catches a server that lists or serves a version being exported before it is whole
    (a staging `.tmp-*` folder taken for a version, an export written in place): while
    exports of version 3 are killed in their staging, every status, metadata and prediction
    answer over REST and gRPC must be version 2's or 1's, with no error. Also catches the
    rerun export not picked up by the running server."""
    serving, exporting = fork_servers
    draw = random.Random(SEED + 1)
    base = tmp_path / "models"
    shutil.copytree(model_base / "models", base)
    rest_port, grpc_port = bench.free_port(), bench.free_port()
    export = ["export", model_base / "v3.keras", "--name", NAME, "--base", base,
              "--version", 3]
    points = [  # the metadata is written after saved_model.pb: in place, a servable version
        KillPoint("metadata half-written", "write", f"models/{NAME}/*/keras_dl.json"),
        KillPoint("while TensorFlow writes the staged SavedModel", "mkdir",
                  f"models/{NAME}/.tmp-*", delay_ms=draw.uniform(5, 60)),
        KillPoint("just before the staging is renamed", "rename", f"models/{NAME}/.tmp-*")]
    child = ServeChild(serving, serve_argv(base, rest_port, grpc_port), tmp_path)
    clients = None
    try:
        child.wait_ready(rest_port, grpc_port)
        clients = Clients(rest_port, grpc_port, listings=[[2, 1]])
        clients.wait_answered(since=time.monotonic())
        exports = []
        for point in points:
            began = time.monotonic()
            outcome = exporting.run(export, workdir=tmp_path, kill=point)
            exports.append((began, time.monotonic()))
            assert outcome.killed, f"{point.label}: not reached ({outcome.code}) " \
                                   f"{outcome.stderr[-600:]}"
            assert not (base / NAME / "3").exists()
            clients.wait_answered(since=exports[-1][1])  # and after the kill
        assert clients.answered_within(exports), "no answer while an export ran"
        assert [p for p in (base / NAME).iterdir() if p.name.startswith(".tmp-3-")], \
            "the killed exports left no staging folder: nothing hidden was tested"
        clients.listings = [[2, 1], [3, 2, 1]]
        done = exporting.run(export, workdir=tmp_path)
        assert done.code == 0, done.stderr[-2000:]
        clients.wait_answered(since=time.monotonic(), version=3)
        clients.listings = [[3, 2, 1]]
        clients.wait_answered(since=time.monotonic(), version=3)
    finally:
        if clients is not None:
            clients.stop()
        child.kill()
    assert clients.wrong == []
