"""keras_dl's RBM against scikit-learn's BernoulliRBM: CD-1, 784→256, batch 64, binarised
Fashion-MNIST, 2 epochs, in the same process.

Both contenders train with the same settings: plain SGD on the mean CD-1 gradient at scikit-learn's
default learning rate 0.1, batch 64, 256 hidden units, 2 passes over the 60,000 training images
(binarised at 0.5). scikit-learn's `BernoulliRBM` trains by persistent CD (its `_fit` continues a
hidden chain, `h_samples_`), so keras_dl is measured both with CD-1 (the issue's setting) and with
PCD-1 over 64 chains (scikit-learn's algorithm). Reported per configuration: seconds per epoch
(wall clock of `fit`, divided by the epochs), samples/s, and the test-set reconstruction error,
the mean squared error of the mean-field reconstruction `σ(σ(vW + c)Wᵀ + b)` on the 10,000 binarised
test images, computed the same way from each model's weights. Rounds interleave the contenders so
both see the same load; medians are reported. scikit-learn runs twice per round: with its BLAS
threads as they come and limited to one thread (threadpoolctl), and the target is measured
against the faster of the two. `tf_loop` (a configuration name) runs the same CD-1 as a bare
TensorFlow loop, without Keras: the ceiling of TensorFlow itself here. The run ends with the
speed of one 64×784 @ 784×256 product in TensorFlow and in numpy (scikit-learn's BLAS): five of
them a step set a floor under any TensorFlow CD-1's seconds per epoch.

`plain` is the RBM as a user meets it: `keras.Sequential([keras.Input((784,)), RBM(256)])`,
`compile(optimizer=SGD(0.1))`, `fit(x, batch_size=64)` with no other setting (the progress bar
on; its text is captured). `fit_floor` is that plain fit around a layer that does nothing but
multiply by a vector: what Keras' `fit` costs by itself. Besides the wall clock of the whole
fit, each contender reports its process's CPU seconds (steadier on a shared machine), its last
epoch alone (the first one includes tracing the step) and, with `tf_loop` among the configs,
both against the loop's. `--profile` times the bare loop cut down to its parts (the products,
then the activations, the sampling, the update). `plain_bf16` and `cd1_spe32_bf16` are `plain`
and `cd1_spe32` built under Keras' `mixed_bfloat16` policy, and `tf_loop_bf16` is the bare loop
with its products in bfloat16: fast where the CPU has bfloat16 units (AVX512_BF16, AMX),
emulated and slow where it has none.

    python bench/rbm_vs_sklearn.py [--rounds 3] [--configs plain,cd1_spe32,...] [--limit N]
    KERAS_BACKEND=jax python bench/rbm_vs_sklearn.py ...   # keras_dl's RBM on Keras' JAX backend

The Keras backend is printed and recorded; `tf_loop` and the product timing use TensorFlow
on either backend.

Targets: at least 2× scikit-learn's samples/s with a lower reconstruction error (issue 3);
the plain fit within 1.15× of the bare loop's epoch, and 2× scikit-learn where the loop gets
there (issue 35).
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import sys
import time
from pathlib import Path

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_dl import data  # noqa: E402
from keras_dl.layers import RBM  # noqa: E402
from keras_dl.training.precision import precision_policy  # noqa: E402

# name: (layer options, compile options, fit options)
CONFIGS = {
    # what a user writes: keras.Sequential([keras.Input((784,)), RBM(256)]),
    # compile(optimizer=SGD(0.1)), fit(x, batch_size=64): the progress bar on (its text is
    # captured, not printed), one step per call
    "plain": ({}, {}, {"verbose": "auto"}),
    "cd1": ({}, {}, {}),
    "cd1_spe32": ({}, {"steps_per_execution": 32}, {}),
    "cd1_spe32_jit": ({}, {"steps_per_execution": 32, "jit_compile": True}, {}),
    "cd1_spe32_meanfield": ({"sample_chain_visible": False}, {"steps_per_execution": 32}, {}),
    "pcd1_spe32": ({"persistent": True, "chains": 64}, {"steps_per_execution": 32}, {}),
}
# The same under Keras' mixed_bfloat16 policy (`keras.config.set_dtype_policy`): the products in
# bfloat16, the weights, updates and reported sums in float32; fast where the CPU has bfloat16
# units (AVX512_BF16, AMX), emulated and slow where it has none.
BFLOAT16 = "_bf16"
CONFIGS.update({name + BFLOAT16: CONFIGS[name] for name in ("plain", "cd1_spe32")})
# Not an RBM: the plain fit above around a layer that does almost nothing (one elementwise
# product with a 784-vector and its mean as the loss): what Keras' `fit` itself costs an epoch.
FIT_FLOOR = "fit_floor"
# Not keras_dl: the same CD-1 written as a bare TensorFlow loop (no Keras, no metrics, one
# compiled function per 32 steps), the ceiling of what TensorFlow itself does on this machine.
TF_LOOP = "tf_loop"
TF_LOOP_BF16 = TF_LOOP + BFLOAT16  # its five products in bfloat16, the update in float32
DEFAULT_CONFIGS = "plain,cd1_spe32,pcd1_spe32,tf_loop"
# scikit-learn with its BLAS threads as they come (2 here), and limited to one: on a loaded
# 2-core machine OpenBLAS's two threads wait on each other and run several times slower.
SKLEARN = {"sklearn": None, "sklearn_1thread": 1}


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--configs", default=DEFAULT_CONFIGS,
                        help=f"keras_dl configurations, from {', '.join(CONFIGS)}")
    parser.add_argument("--sklearn", default=",".join(SKLEARN),
                        help=f"scikit-learn variants, from {', '.join(SKLEARN)}")
    parser.add_argument("--limit", type=int, default=None, help="training images (smoke runs)")
    parser.add_argument("--profile", action="store_true",
                        help="also time the parts of the bare loop's step (products, "
                             "activations, sampling, update)")
    parser.add_argument("--output", default="bench/output/rbm_vs_sklearn.json")
    args = parser.parse_args(argv)
    loops = (TF_LOOP, TF_LOOP_BF16, FIT_FLOOR)
    unknown = [c for c in args.configs.split(",") if c not in (*CONFIGS, *loops)]
    unknown += [c for c in args.sklearn.split(",") if c not in SKLEARN]
    if unknown:
        parser.error(f"unknown config {unknown[0]!r}; allowed: "
                     f"{', '.join([*CONFIGS, *loops])}"
                     f" and {', '.join(SKLEARN)}")
    return args


def reconstruction_mse(kernel, visible_bias, hidden_bias, x):
    from scipy.special import expit

    hidden = expit(x @ kernel + hidden_bias)
    reconstruction = expit(hidden @ kernel.T + visible_bias)
    return float(np.mean((x - reconstruction) ** 2))


class Timer:
    """Wall-clock seconds and this process's CPU seconds (all its threads) of a block: on a
    machine shared with other jobs the CPU time varies less than the wall clock."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


class EpochTimes(keras.callbacks.Callback):
    """Wall-clock seconds of each epoch of `fit` (the first includes tracing the step)."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


class _Scale(keras.layers.Layer):
    """The fit floor's layer: `v ⊙ w`, adding the mean as its loss."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, inputs):
        outputs = inputs * self.scale
        self.add_loss(keras.ops.mean(outputs))
        return outputs


def run_keras(config, x_train, x_test, args, seed):
    layer_options, compile_options, fit_options = CONFIGS.get(config, ({}, {}, {}))
    keras.utils.set_random_seed(seed)
    if config == FIT_FLOOR:
        layer = _Scale()
    else:
        with precision_policy("mixed_bfloat16" if config.endswith(BFLOAT16) else "float32"):
            layer = RBM(args.units, seed=seed, name="rbm", **layer_options)
    model = keras.Sequential([keras.Input((x_train.shape[1],)), layer])
    model.compile(optimizer=keras.optimizers.SGD(args.learning_rate), **compile_options)
    fit_options = {"verbose": 0, **fit_options}
    epochs = EpochTimes()
    with contextlib.redirect_stdout(io.StringIO()), Timer() as timer:
        model.fit(x_train, epochs=args.epochs, batch_size=args.batch_size, callbacks=[epochs],
                  **fit_options)
    timer.last_epoch = epochs.seconds[-1]
    if config == FIT_FLOOR:
        return timer, float("nan")
    weights = [np.asarray(w) for w in (layer.kernel, layer.visible_bias, layer.hidden_bias)]
    return timer, reconstruction_mse(*weights, x_test)


def run_tf_loop(x_train, x_test, args, seed, products="float32"):
    """CD-1 as a bare TensorFlow loop: the five matrix products (in `products`' dtype), two
    samplings, SGD on float32 weights."""
    import tensorflow as tf

    def low(x):
        return tf.cast(x, products)

    tf.random.set_seed(seed)
    rng = tf.random.Generator.from_seed(seed)
    visible, batch = x_train.shape[1], args.batch_size
    kernel = tf.Variable(rng.normal((visible, args.units), stddev=0.01))
    visible_bias = tf.Variable(tf.zeros(visible))
    hidden_bias = tf.Variable(tf.zeros(args.units))
    steps = len(x_train) // batch
    data = tf.constant(x_train[:steps * batch])
    rate = args.learning_rate

    @tf.function
    def run(order, start, count):
        for step in tf.range(start, start + count):
            v0 = low(tf.gather(data, order[step * batch:(step + 1) * batch]))
            w, b, c = low(kernel), low(visible_bias), low(hidden_bias)
            h0 = tf.sigmoid(v0 @ w + c)
            h_sample = low(rng.uniform(tf.shape(h0)) < tf.cast(h0, tf.float32))
            v1_mean = tf.sigmoid(tf.matmul(h_sample, w, transpose_b=True) + b)
            v1 = low(rng.uniform(tf.shape(v1_mean)) < tf.cast(v1_mean, tf.float32))
            h1 = tf.sigmoid(v1 @ w + c)
            gradient = (tf.matmul(v0, h0, transpose_a=True)
                        - tf.matmul(v1, h1, transpose_a=True))
            kernel.assign_add(rate / batch * tf.cast(gradient, tf.float32))
            visible_bias.assign_add(rate * tf.reduce_mean(tf.cast(v0 - v1, tf.float32), axis=0))
            hidden_bias.assign_add(rate * tf.reduce_mean(tf.cast(h0 - h1, tf.float32), axis=0))

    chunk = 32
    run(tf.range(steps * batch), tf.constant(0), tf.constant(0))  # trace (no step) off the clock
    with Timer() as timer:
        for _ in range(args.epochs):
            timer.last_epoch = time.perf_counter()
            order = tf.random.shuffle(tf.range(steps * batch))
            for first in range(0, steps, chunk):
                run(order, tf.constant(first), tf.constant(min(chunk, steps - first)))
            timer.last_epoch = time.perf_counter() - timer.last_epoch
    weights = [np.asarray(w) for w in (kernel, visible_bias, hidden_bias)]
    return timer, reconstruction_mse(*weights, x_test)


# The parts of the bare loop's CD-1 step, each part including those before it: what stands
# between the five products and the whole step.
LOOP_PARTS = ("products", "activations", "sampling", "update")


def profile_loop(x_train, args, steps=1000, repeats=3):
    """Seconds per epoch of the bare loop cut down to its first parts (`LOOP_PARTS`): the five
    products alone (chained as in CD-1, through a cheap cast so none is skipped), then the
    bias additions and sigmoids, then the two samplings, then the update of the weights.
    One compiled call runs `steps` steps; the best of `repeats` calls, wall and CPU."""
    import tensorflow as tf

    rng = tf.random.Generator.from_seed(0)
    batch, visible = args.batch_size, x_train.shape[1]
    kernel = tf.Variable(rng.normal((visible, args.units), stddev=0.01))
    visible_bias, hidden_bias = tf.Variable(tf.zeros(visible)), tf.Variable(tf.zeros(args.units))
    data = tf.constant(x_train[:(len(x_train) // batch) * batch])
    count = len(x_train) // batch
    results = {}
    for part in LOOP_PARTS:
        level = LOOP_PARTS.index(part)

        def hidden(v):
            return tf.sigmoid(v @ kernel + hidden_bias) if level >= 1 else v @ kernel

        def sample(p):
            return tf.cast(rng.uniform(tf.shape(p)) < p, tf.float32) if level >= 2 else p

        @tf.function
        def run(level=level, hidden=hidden, sample=sample):
            for step in tf.range(steps):
                first = (step % count) * batch
                v0 = data[first:first + batch]
                h0 = hidden(v0)
                v1 = tf.matmul(sample(h0), kernel, transpose_b=True)
                v1 = sample(tf.sigmoid(v1 + visible_bias) if level >= 1 else v1)
                h1 = hidden(v1)
                gradient = (tf.matmul(v0, h0, transpose_a=True)
                            - tf.matmul(v1, h1, transpose_a=True))
                if level >= 3:
                    kernel.assign_add(args.learning_rate / batch * gradient)
                    visible_bias.assign_add(args.learning_rate * tf.reduce_mean(v0 - v1, 0))
                    hidden_bias.assign_add(args.learning_rate * tf.reduce_mean(h0 - h1, 0))
                else:  # keep the statistics alive without updating (a read of one value)
                    hidden_bias.assign_add(0.0 * gradient[0, :])

        run()
        timings = []
        for _ in range(repeats):
            with Timer() as timer:
                run()
            timings.append((timer.wall, timer.cpu))
        wall, cpu = min(timings)
        results[part] = {"seconds_per_epoch": round(wall / steps * count, 3),
                         "cpu_seconds_per_epoch": round(cpu / steps * count, 3)}
        print(f"bare loop up to {part:>11}: {results[part]['seconds_per_epoch']:.3f} s/epoch "
              f"({results[part]['cpu_seconds_per_epoch']:.3f} CPU s)", flush=True)
    return results


def matmul_rates(units, batch, visible, repeats=2000):
    """GFLOP/s of one (batch × visible) @ (visible × units) product: TensorFlow and numpy."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = rng.random((batch, visible), dtype="float32")
    w = rng.random((visible, units), dtype="float32")
    flops = 2 * batch * visible * units

    @tf.function
    def products(count):
        total = tf.zeros((batch, units))
        for i in tf.range(count):
            total += tf.matmul(a + tf.cast(i, tf.float32), w)
        return total

    products(tf.constant(10))
    start = time.perf_counter()
    products(tf.constant(repeats))
    tf_rate = flops * repeats / (time.perf_counter() - start) / 1e9
    start = time.perf_counter()
    for _ in range(repeats):
        a @ w
    np_rate = flops * repeats / (time.perf_counter() - start) / 1e9
    return round(tf_rate, 1), round(np_rate, 1)


def run_sklearn(x_train, x_test, args, seed, threads=None):
    from sklearn.neural_network import BernoulliRBM
    from threadpoolctl import threadpool_limits

    rbm = BernoulliRBM(n_components=args.units, learning_rate=args.learning_rate,
                       batch_size=args.batch_size, n_iter=args.epochs, random_state=seed)
    with threadpool_limits(limits=threads), Timer() as timer:
        rbm.fit(x_train)
    return timer, reconstruction_mse(rbm.components_.T, rbm.intercept_visible_,
                                       rbm.intercept_hidden_, x_test)


def main(argv=None):
    args = parse_args(argv)
    x_train, _ = data.load_numpy("fashion_mnist", "train", limit=args.limit)
    x_test, _ = data.load_numpy("fashion_mnist", "test", limit=args.limit)
    x_train = (x_train.reshape(len(x_train), -1) > 0.5).astype("float32")
    x_test = (x_test.reshape(len(x_test), -1) > 0.5).astype("float32")
    configs, sklearn = args.configs.split(","), args.sklearn.split(",")
    print(f"Keras backend: {keras.backend.backend()}", flush=True)
    runs = {name: [] for name in [*sklearn, *configs]}
    for round_ in range(args.rounds):
        order = [*sklearn, *configs] if round_ % 2 == 0 else [*configs, *sklearn]
        for name in order:
            if name in SKLEARN:
                timer, mse = run_sklearn(x_train, x_test, args, seed=round_,
                                         threads=SKLEARN[name])
            elif name in (TF_LOOP, TF_LOOP_BF16):
                timer, mse = run_tf_loop(x_train, x_test, args, seed=round_, products=(
                    "bfloat16" if name == TF_LOOP_BF16 else "float32"))
            else:
                timer, mse = run_keras(name, x_train, x_test, args, seed=round_)
            last = getattr(timer, "last_epoch", timer.wall / args.epochs)
            runs[name].append({"seconds": timer.wall, "cpu_seconds": timer.cpu,
                               "last_epoch_seconds": last, "mse": mse})
            print(f"round {round_ + 1} {name:>20}: {timer.wall / args.epochs:6.2f} s/epoch "
                  f"({timer.cpu / args.epochs:5.2f} CPU s), last epoch {last:6.2f} s  "
                  f"test reconstruction MSE {mse:.4f}", flush=True)
    summary = {}
    for name, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results) / args.epochs
        summary[name] = {
            "seconds_per_epoch": round(seconds, 3),
            "last_epoch_seconds": round(
                statistics.median(r["last_epoch_seconds"] for r in results), 3),
            "cpu_seconds_per_epoch": round(
                statistics.median(r["cpu_seconds"] for r in results) / args.epochs, 3),
            "samples_per_second": round(len(x_train) / seconds),
            "test_reconstruction_mse": round(statistics.median(r["mse"] for r in results), 5),
            "rounds": results,
        }
    # the target is measured against scikit-learn's faster thread setting
    reference = max(summary[name]["samples_per_second"] for name in sklearn)
    loop = summary.get(TF_LOOP, {})
    print(f"\n{'contender':>20} | s/epoch | last epoch | CPU s/epoch | samples/s | "
          f"× best sklearn | ÷ tf_loop | test MSE")
    for name, row in summary.items():
        row["speedup_vs_best_sklearn"] = round(row["samples_per_second"] / reference, 2)
        if loop:  # both the whole fit per epoch and the last epoch alone, against the loop's
            row["time_vs_tf_loop"] = round(row["seconds_per_epoch"]
                                           / loop["seconds_per_epoch"], 2)
            row["last_epoch_vs_tf_loop"] = round(row["last_epoch_seconds"]
                                                 / loop["last_epoch_seconds"], 2)
        print(f"{name:>20} | {row['seconds_per_epoch']:7.2f} | {row['last_epoch_seconds']:10.2f} | "
              f"{row['cpu_seconds_per_epoch']:11.2f} | {row['samples_per_second']:9d} | "
              f"{row['speedup_vs_best_sklearn']:14.2f} | "
              f"{row.get('time_vs_tf_loop', float('nan')):4.2f}/"
              f"{row.get('last_epoch_vs_tf_loop', float('nan')):4.2f} | "
              f"{row['test_reconstruction_mse']:.4f}")
    # the floor under any TensorFlow CD-1: five such products a step
    tf_rate, np_rate = matmul_rates(args.units, args.batch_size, x_train.shape[1])
    floor = 5 * 2 * args.batch_size * x_train.shape[1] * args.units * (len(x_train)
                                                                          // args.batch_size)
    summary["matmul"] = {"tensorflow_gflops": tf_rate, "numpy_gflops": np_rate,
                         "tensorflow_floor_seconds_per_epoch": round(floor / tf_rate / 1e9, 3)}
    print(f"\none {args.batch_size}×{x_train.shape[1]} @ {x_train.shape[1]}×{args.units} product: "
          f"TensorFlow {tf_rate} GFLOP/s, numpy (scikit-learn's BLAS) {np_rate} GFLOP/s; five a "
          f"step put TensorFlow's floor at {summary['matmul']['tensorflow_floor_seconds_per_epoch']}"
          " s/epoch")
    if args.profile:
        summary["loop_parts"] = profile_loop(x_train, args)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    settings = {**vars(args), "keras_backend": keras.backend.backend()}
    output.write_text(json.dumps({"settings": settings, "summary": summary}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
