"""Serving latency: LeNet-5 over REST and gRPC (keras-dl serve) against the SavedModel in-process.

Exports a modern LeNet-5 (28×28×1 inputs), starts `keras-dl serve` as its own process on
127.0.0.1, and sends sequential requests from one client (a keep-alive HTTP connection; the
official TensorFlow Serving gRPC stub), batch 1 and batch 32, after a warm-up. Reports p50 and
p99 latency and requests/s, beside calling the reloaded SavedModel's `serving_default` in this
process. About a minute.

    python bench/serving_latency.py [--requests 300]
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
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
from keras_dl.export import ServedModel, export_saved_model  # noqa: E402

BATCHES = (1, 32)
WARMUP = 20


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def summarise(seconds):
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "requests_per_s": round(float(len(ms) / (ms.sum() / 1000)), 1)}


def timed(call, count):
    for _ in range(WARMUP):
        call()
    seconds = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return summarise(seconds)


def main(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="timed requests per case")
    args = parser.parse_args(argv)
    if args.requests < 10:
        parser.error("--requests must be at least 10")

    base = Path(tempfile.mkdtemp(prefix="keras_dl_serving_bench_"))
    model = keras_dl.create_model("lenet5", input_shape=(28, 28, 1), modern=True)
    export_saved_model(model, base, "lenet5", 1)
    rest_port, grpc_port = free_port(), free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "keras_dl.cli", "serve", "--model-base", str(base),
         "--rest-port", str(rest_port), "--grpc-port", str(grpc_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    results = {}
    try:
        deadline = time.monotonic() + 120
        connection = None
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", rest_port, timeout=30)
                connection.request("GET", "/v1/models/lenet5")
                if connection.getresponse().read():
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("keras-dl serve did not start")
        channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        served = ServedModel(base / "lenet5")

        for batch in BATCHES:
            x = np.random.default_rng(batch).random((batch, 28, 28, 1), dtype="float32")
            body = json.dumps({"instances": x.tolist()})

            def rest():
                connection.request("POST", "/v1/models/lenet5:predict", body,
                                   {"Content-Type": "application/json"})
                response = connection.getresponse()
                assert response.status == 200, response.read()
                response.read()

            request = predict_pb2.PredictRequest()
            request.model_spec.name = "lenet5"
            request.inputs["images"].CopyFrom(tf.make_tensor_proto(x))

            def grpc_call():
                stub.Predict(request, timeout=30)

            results[f"batch {batch}"] = {
                "REST": timed(rest, args.requests),
                "gRPC": timed(grpc_call, args.requests),
                "in-process SavedModel": timed(lambda: served(x), args.requests),
            }
        channel.close()
        connection.close()
    finally:
        server.terminate()
        server.wait(timeout=30)

    report = {"machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
              "model": "lenet5 (modern), 28x28x1", "requests_per_case": args.requests,
              "results": results}
    for batch, cases in results.items():
        for case, figures in cases.items():
            print(f"{batch:>8}  {case:<22} p50 {figures['p50_ms']:>8.2f} ms  "
                  f"p99 {figures['p99_ms']:>8.2f} ms  {figures['requests_per_s']:>8.1f} req/s")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
