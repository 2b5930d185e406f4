"""Training and inference throughput of the CNN zoo's small-image variants.

For each model: Fashion-MNIST-shaped data (28×28×1, 10 classes, random pixels: the speed
does not depend on the values), batch 128. Training samples/s is measured over `--steps`
optimizer steps after `--warmup` steps (the first traces the graph); inference samples/s over
`--steps` `predict_on_batch` calls after a warm-up. One model at a time, in one process.

ResNet-50 at 224×224 on a GPU with mixed precision is `bench/cnn_gpu.py throughput`, which
runs on any Keras backend (the lent GPU machines have JAX, not TensorFlow).

    python bench/cnn_throughput.py [--models resnet20,nin] [--quick]
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_dl  # noqa: E402
from keras_dl.training import compile_classifier  # noqa: E402

BATCH = 128
# the small-image variant of each architecture (as apps/cnn_zoo.py trains them)
SMALL_VARIANTS = {
    "lenet5": {"modern": True},
    "alexnet": {"fc_units": 1024},
    "vgg16": {"batch_norm": True},
    "nin": {},
    "googlenet": {"batch_norm": True},
    "resnet18": {},
    "resnet20": {},
    "resnet110": {"stochastic_depth": 0.5},
    "wrn16_4": {},
    "wrn28_10": {},
    "fractalnet": {},
    "squeezenet1_1": {},
}


def measure(name, kwargs, *, steps, warmup, batch=BATCH, input_shape=(28, 28, 1),
            num_classes=10):
    keras.utils.set_random_seed(0)
    model = keras_dl.create_model(name, input_shape=input_shape, num_classes=num_classes,
                                  **kwargs)
    compile_classifier(model)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((batch, *input_shape), dtype="float32"))
    y = tf.constant(rng.integers(0, num_classes, batch))
    for _ in range(warmup):
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        loss = model.train_on_batch(x, y)
    train_rate = steps * batch / (time.perf_counter() - start)
    for _ in range(warmup):
        model.predict_on_batch(x)
    start = time.perf_counter()
    for _ in range(steps):
        model.predict_on_batch(x)
    infer_rate = steps * batch / (time.perf_counter() - start)
    finite = bool(np.all(np.isfinite(np.asarray(loss))))
    return {"parameters": int(model.count_params()), "train_samples_per_s": round(train_rate, 1),
            "inference_samples_per_s": round(infer_rate, 1), "finite_loss": finite}


def main(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(SMALL_VARIANTS),
                        help=f"comma-separated subset of: {', '.join(SMALL_VARIANTS)}")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    parser.add_argument("--quick", action="store_true", help="3 timed steps, 1 warm-up")
    parser.add_argument("--output", help="also write the JSON report to this file")
    args = parser.parse_args(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in SMALL_VARIANTS]
    if unknown:
        parser.error(f"--models: unknown model {unknown[0]!r}; "
                     f"allowed: {', '.join(SMALL_VARIANTS)}")
    if args.quick:
        args.steps, args.warmup = 3, 1
    if args.steps < 1 or args.warmup < 1:
        parser.error("--steps and --warmup must be at least 1")
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, "
                         f"GPUs: {len(tf.config.list_physical_devices('GPU'))}",
              "tensorflow": tf.__version__, "keras": keras.__version__, "batch": BATCH,
              "input": "28x28x1, 10 classes", "steps": args.steps, "warmup": args.warmup,
              "results": {}}
    for name in names:
        row = measure(name, SMALL_VARIANTS[name], steps=args.steps, warmup=args.warmup)
        report["results"][name] = row
        print(f"{name:14s} {row['parameters']:>11,} params  train {row['train_samples_per_s']:9.1f}"
              f" samples/s  inference {row['inference_samples_per_s']:9.1f} samples/s",
              flush=True)
        keras.backend.clear_session()
    print(json.dumps(report, indent=2))
    if args.output:
        with open(args.output, "w") as stream:
            json.dump(report, stream, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
