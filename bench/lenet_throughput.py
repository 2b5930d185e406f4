"""LeNet-5 (modern) training throughput: keras_dl's builder against the same network by hand.

Trains both models on Fashion-MNIST (batch 128) in the same process and measures samples per
second over the second epoch (the first includes tracing), alternating which model goes first
over several rounds; reports the median of each and their ratio. The builder must cost nothing:
ratio ≥ 0.97. `--jit-compile` measures with XLA compilation as well (measured here: slower on
CPU for this network).

    python bench/lenet_throughput.py [--rounds 3] [--limit 60000] [--jit-compile]
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_dl  # noqa: E402
from keras_dl import data  # noqa: E402

BATCH = 128


def hand_written_lenet5():
    """The modern LeNet-5 written directly in plain Keras (the peer)."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.ZeroPadding2D(2),
        keras.layers.Conv2D(6, 5, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 5, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(120, 5, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(84, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


def builder_lenet5():
    return keras_dl.create_model("lenet5", input_shape=(28, 28, 1), num_classes=10, modern=True)


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


def second_epoch_throughput(make_model, dataset, samples, jit_compile):
    keras.utils.set_random_seed(0)
    model = make_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=jit_compile)
    timer = EpochTimer()
    model.fit(dataset, epochs=2, verbose=0, callbacks=[timer])
    assert model.count_params() == 61706
    return samples / timer.seconds


def main(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=60000, help="training images per epoch")
    parser.add_argument("--jit-compile", action="store_true", help="also measure with XLA")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.limit < BATCH:
        parser.error("--rounds must be ≥ 1 and --limit ≥ 128")

    x, y = data.load_numpy("fashion_mnist", "train", limit=args.limit)
    dataset = data.to_dataset(x, y, BATCH, shuffle=True).cache()
    modes = [False, True] if args.jit_compile else [False]
    report = {"machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPU cores",
              "tensorflow": tf.__version__, "keras": keras.__version__, "batch": BATCH,
              "samples_per_epoch": len(x), "rounds": args.rounds, "results": {}}
    for jit in modes:
        rates = {"keras_dl": [], "hand_written": []}
        for round_ in range(args.rounds):
            order = [("keras_dl", builder_lenet5), ("hand_written", hand_written_lenet5)]
            for label, make in order if round_ % 2 == 0 else order[::-1]:
                rates[label].append(second_epoch_throughput(make, dataset, len(x), jit))
                keras.backend.clear_session()
        medians = {label: statistics.median(values) for label, values in rates.items()}
        ratio = medians["keras_dl"] / medians["hand_written"]
        report["results"][f"jit_compile={jit}"] = {
            "samples_per_second": {k: round(v, 1) for k, v in medians.items()},
            "all_rounds": {k: [round(r, 1) for r in v] for k, v in rates.items()},
            "ratio_builder_over_hand_written": round(ratio, 4),
        }
        print(f"jit_compile={jit}: keras_dl {medians['keras_dl']:.0f} samples/s, hand-written "
              f"{medians['hand_written']:.0f} samples/s, ratio {ratio:.3f}")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
