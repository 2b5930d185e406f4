"""Serving under load: concurrent REST and gRPC clients while a new model version appears.

Starts `keras-dl serve` as its own process on 127.0.0.1 (so its resident memory is measured
alone) over a model whose versions answer differently and exactly: version V is a dense layer
whose weights are all V, so it maps an integer input row x to V · sum(x) in every output.
Four modes run one after another (REST batch 1, REST batch 32, gRPC batch 1, gRPC batch 32),
each with CLIENTS concurrent clients sending REQUESTS requests each (keep-alive HTTP
connections; the official TensorFlow Serving gRPC stub); a third of the way into each mode the
next version is exported with keras_dl's exporter (staged in `.tmp-*`, renamed into place).
Every response is checked: it must be the exact output of the version current before the
export or of the new one (gRPC responses must also name that version), so a response from a
half-written or wrong version counts as an error.

Reported per mode: requests/s, p50 and p99 latency, errors, versions seen; and the server's
resident memory (VmRSS from /proc, read every 4 requests after the first mode, the warm-up) as
a least-squares slope in MiB per 1000 requests, with one intercept per loaded version so that
loading a version (a one-off step) is not read as growth. About a minute on 2 cores with the
defaults.

    python bench/serving_load.py [--clients 8] [--requests 500]

tests/test_serving_load.py runs the same code smaller (4 clients × 50 requests a mode).
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow

quiet_tensorflow()

import grpc  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

import keras_dl  # noqa: E402
from keras_dl.export import export_saved_model  # noqa: E402

NAME = "load"
FEATURES, OUTPUTS = 16, 4
MODES = (("REST", 1), ("REST", 32), ("gRPC", 1), ("gRPC", 32))
WARMUP_REQUESTS = 20  # per client, before each mode's timed requests
INPUTS_PER_CLIENT = 4  # distinct request bodies a client cycles through
SWITCH_AT = 1 / 3  # fraction of a mode's requests after which the next version is exported
GIVE_UP = 30.0  # seconds after the export by which the new version must have answered


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def constant_model(version: int):
    """A dense layer from FEATURES to OUTPUTS inputs with every weight = `version`, no bias:
    integer inputs give exact outputs, different for every version."""
    model = keras_dl.create_model("mlp", input_shape=(FEATURES,), hidden_units=(),
                                  num_classes=OUTPUTS, classifier_activation=None)
    model.set_weights([np.full_like(w, version if w.ndim == 2 else 0.0)
                       for w in model.get_weights()])
    return model


def expected(version: int, x: np.ndarray) -> np.ndarray:
    """What `version` answers for the integer batch `x` (exact in float32)."""
    return np.repeat(version * x.sum(axis=1, keepdims=True), OUTPUTS, axis=1).astype("float32")


def export_version(base, version: int):
    """Export version `version` of the load model with keras_dl's exporter."""
    export_saved_model(constant_model(version), base, NAME, version)


# --- the server, in its own process -----------------------------------------------------------


def start_server(base, *extra_args, timeout=120.0):
    """`keras-dl serve` on free ports: (process, rest_port, grpc_port), once both answer."""
    rest_port, grpc_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_dl.cli", "serve", "--model-base", str(base),
         "--rest-port", str(rest_port), "--grpc-port", str(grpc_port), *extra_args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"keras-dl serve exited: {process.stderr.read()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", rest_port, timeout=10)
            connection.request("GET", f"/v1/models/{NAME}")
            connection.getresponse().read()
            connection.close()
            with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:  # bound after REST
                grpc.channel_ready_future(channel).result(
                    timeout=max(1.0, deadline - time.monotonic()))
            return process, rest_port, grpc_port
        except (OSError, grpc.FutureTimeoutError):
            time.sleep(0.25)
    process.kill()
    raise RuntimeError(f"keras-dl serve did not answer within {timeout:g} s")


def rss_mib(pid: int) -> float:
    """Resident memory of process `pid` (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def slope_per_1000(samples) -> float:
    """Least-squares slope of RSS (MiB) against requests done, per 1000 requests, with one
    intercept per segment: samples are `(requests done, MiB, segment)`, a segment being a
    stretch of one mode served by one version, so the one-off steps between them (loading a
    new version, a new mode's first requests: a MiB or two) are not read as growth; a leak
    grows within every segment and is."""
    done, mib, segment = np.asarray(samples, dtype="float64").T
    dx, dy = np.zeros_like(done), np.zeros_like(mib)
    for value in np.unique(segment):
        part = segment == value
        dx[part], dy[part] = done[part] - done[part].mean(), mib[part] - mib[part].mean()
    if np.count_nonzero(dx) < 3:
        raise ValueError("too few RSS samples for a slope")
    return float((dx * dy).sum() / (dx * dx).sum() * 1000)


# --- clients ----------------------------------------------------------------------------------


def _batches(client: int, batch: int):
    rng = np.random.default_rng(client)
    return [rng.integers(0, 4, (batch, FEATURES)).astype("float32")
            for _ in range(INPUTS_PER_CLIENT)]


class _RestClient:
    def __init__(self, port, batches):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.bodies = [json.dumps({"instances": x.tolist()}) for x in batches]

    def call(self, index):
        """(outputs, version or None)."""
        self.connection.request("POST", f"/v1/models/{NAME}:predict", self.bodies[index],
                                {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {data[:200]!r}")
        return np.asarray(json.loads(data)["predictions"], dtype="float32"), None

    def close(self):
        self.connection.close()


class _GrpcClient:
    def __init__(self, port, batches):
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.requests = []
        for x in batches:
            request = predict_pb2.PredictRequest()
            request.model_spec.name = NAME
            request.inputs["inputs"].CopyFrom(tf.make_tensor_proto(x))
            self.requests.append(request)

    def call(self, index):
        response = self.stub.Predict(self.requests[index], timeout=60)
        return (tf.make_ndarray(response.outputs["logits"]),
                response.model_spec.version.value)

    def close(self):
        self.channel.close()


class ModeResult:
    """What one mode measured: latencies (s), errors (one line each), versions that answered."""

    def __init__(self, protocol: str, batch: int):
        self.protocol, self.batch = protocol, batch
        self.latencies, self.errors, self.versions_seen = [], [], set()
        self.seconds = 0.0

    def summary(self) -> dict:
        ms = np.asarray(self.latencies) * 1000
        return {"mode": f"{self.protocol} b{self.batch}", "requests": len(self.latencies),
                "requests_per_s": round(len(ms) / self.seconds, 1) if self.seconds else 0.0,
                "p50_ms": round(float(np.percentile(ms, 50)), 2) if len(ms) else None,
                "p99_ms": round(float(np.percentile(ms, 99)), 2) if len(ms) else None,
                "errors": len(self.errors), "versions_seen": sorted(self.versions_seen)}


def _check(outputs, version, x, old, new):
    """The version that produced `outputs` (old or new); ValueError otherwise."""
    for candidate in (old, new):
        if np.array_equal(outputs, expected(candidate, x)) and version in (None, candidate):
            return candidate
    raise ValueError(f"response (version {version}) is neither version {old}'s nor "
                     f"version {new}'s output: {outputs[:1].tolist()}")


class _Progress:
    """Requests done over the whole run (the x axis of the RSS slope) and the server's RSS,
    read every SAMPLE_EVERY requests once `sampling`. A sample's segment is the mode and the
    number of versions that have answered so far (`mode × 100 + versions`): a new mode's
    first requests (new connections, a new batch shape) and a new version's loading are
    one-off steps. Samples between a version's export and its first answer (while the server
    loads it) are left out."""

    SAMPLE_EVERY = 4

    def __init__(self, pid):
        self.pid = pid
        self.done = self.mode = 0
        self.sampling = self.loading = False
        self.versions = set()
        self.samples = []
        self.lock = threading.Lock()

    def add(self, version=None):
        """One more request done (`version`: the version that answered it, if it did)."""
        with self.lock:
            self.done += 1
            if version is not None and version not in self.versions:
                self.versions.add(version)
                self.loading = False
            if self.sampling and not self.loading and self.done % self.SAMPLE_EVERY == 0:
                self.samples.append((self.done, rss_mib(self.pid),
                                     self.mode * 100 + len(self.versions)))

    def exported(self):
        with self.lock:
            self.loading = True


def run_mode(protocol, batch, *, clients, requests, rest_port, grpc_port, old, new,
             export_new, progress):
    """One mode: `clients` threads sending requests (after a warm-up), the next version
    exported once a third of `clients × requests` are done. Each client sends at least
    `requests` and goes on until the new version has answered this mode (or the export failed),
    so the export always happens under load. Returns a ModeResult."""
    result = ModeResult(protocol, batch)
    lock = threading.Lock()
    switch = max(1, int(clients * requests * SWITCH_AT))
    export_done, export_finished = threading.Event(), [0.0]
    start_timed = threading.Barrier(clients + 1)

    def export():
        try:
            export_new()
            progress.exported()
        except Exception as error:
            with lock:
                result.errors.append(f"export of version {new} failed: {error}")
        finally:
            export_finished[0] = time.monotonic()
            export_done.set()

    def record(began, outcome):
        with lock:
            if isinstance(outcome, Exception):
                result.errors.append(f"{type(outcome).__name__}: {outcome}")
            else:
                result.latencies.append(time.perf_counter() - began)
                result.versions_seen.add(outcome)
            if len(result.latencies) + len(result.errors) == switch:
                threading.Thread(target=export, daemon=True).start()
            if new in result.versions_seen:
                return True
            if export_done.is_set() and time.monotonic() - export_finished[0] > GIVE_UP:
                if not any("never answered" in e for e in result.errors):
                    result.errors.append(f"version {new} never answered, {GIVE_UP:g} s "
                                         "after its export")
                return True
            return False

    def client(number):
        try:
            send(number)
        except Exception as error:  # a client that cannot even start is an error too
            with lock:
                result.errors.append(f"client {number}: {type(error).__name__}: {error}")
            start_timed.abort()

    def send(number):
        batches = _batches(number, batch)
        kind, port = (_RestClient, rest_port) if protocol == "REST" else (_GrpcClient, grpc_port)
        session = kind(port, batches)
        try:
            for i in range(WARMUP_REQUESTS):
                session.call(i % INPUTS_PER_CLIENT)
            start_timed.wait()
            sent, finished = 0, False
            while sent < requests or not finished:
                index = sent % INPUTS_PER_CLIENT
                began = time.perf_counter()
                try:
                    outputs, version = session.call(index)
                    outcome = _check(outputs, version, batches[index], old, new)
                except Exception as error:  # recorded, never raised: the run goes on
                    outcome = error
                progress.add(None if isinstance(outcome, Exception) else outcome)
                finished = record(began, outcome)
                sent += 1
        finally:
            session.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    try:
        start_timed.wait()
    except threading.BrokenBarrierError:
        pass  # a client failed during the warm-up: recorded
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began
    if not result.errors or switch <= len(result.latencies) + len(result.errors):
        export_done.wait(timeout=GIVE_UP * 4)
    return result


def run_load(base, *, clients, requests, modes=MODES, server_args=()):
    """The whole run against a fresh `keras-dl serve`: version 1 exported first, one more per
    mode. Returns (mode results, RSS samples (requests done, MiB, segment) taken after the
    first mode, the warm-up)."""
    export_version(base, 1)
    process, rest_port, grpc_port = start_server(base, *server_args)
    progress = _Progress(process.pid)
    results = []
    try:
        for number, (protocol, batch) in enumerate(modes, start=1):
            progress.sampling = number > 1  # the first mode warms the server up
            progress.mode = number
            results.append(run_mode(
                protocol, batch, clients=clients, requests=requests, rest_port=rest_port,
                grpc_port=grpc_port, old=number, new=number + 1,
                export_new=lambda version=number + 1: export_version(base, version),
                progress=progress))
    finally:
        process.terminate()
        process.communicate(timeout=60)
    return results, progress.samples


def main(argv=None):
    import tempfile

    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients per mode")
    parser.add_argument("--requests", type=int, default=500, help="timed requests per client")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.requests < 10:
        parser.error("--clients must be at least 1 and --requests at least 10")
    base = Path(tempfile.mkdtemp(prefix="keras_dl_serving_load_"))
    results, samples = run_load(base, clients=args.clients, requests=args.requests)
    rows = [r.summary() for r in results]
    slope = slope_per_1000(samples)
    print(f"{'mode':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  versions")
    for row in rows:
        print(f"{row['mode']:<10} {row['requests_per_s']:>8.1f} {row['p50_ms']:>8.2f} "
              f"{row['p99_ms']:>8.2f} {row['errors']:>7}  {row['versions_seen']}")
    print(f"server RSS: {samples[0][1]:.1f} -> {samples[-1][1]:.1f} MiB over "
          f"{samples[-1][0] - samples[0][0]:.0f} requests; least-squares slope "
          f"{slope:+.3f} MiB per 1000 requests (after the first mode, the warm-up; one "
          "intercept per mode and version)")
    for result in results:
        for error in result.errors[:5]:
            print(f"error ({result.protocol} b{result.batch}): {error}")
    print(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
                      "clients": args.clients, "requests_per_client": args.requests,
                      "modes": rows, "rss_slope_mib_per_1000_requests": round(slope, 4)},
                     indent=2))
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
