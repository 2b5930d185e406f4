"""The CNN zoo on a GPU, on any Keras 3 backend: ResNet-50 224×224 training throughput under
mixed precision, and the small-image networks trained on Fashion-MNIST against the published
numbers.

The GPU machines lent to this project carry JAX, not TensorFlow, so this script imports no
TensorFlow of its own and needs only Keras, NumPy and keras_dl; Fashion-MNIST comes from
keras_dl's offline IDX files. Run under `KERAS_BACKEND=jax` (on the H200) and tensorflow (the
tests); the torch backend is untried.

`throughput` builds ResNet-50 (paper stem, 224×224×3, 1000 classes) under each `--precision`
policy (the softmax kept in float32), compiles it with SGD + momentum 0.9 and times
`--steps` `train_on_batch` calls of batch `--batch` after `--warmup` untimed ones (the first
compiles), on random pixels held on the device; it prints and records training images/s.

`train MODEL` trains a zoo network's small-image variant with the settings of
`apps/cnn_zoo.py` (its builder arguments and augmentation, 54,000/6,000 train/validation split
with seed 0, batch 128, Adam at the registered rate (or `--optimizer`, `--learning-rate`,
`--weight-decay`, and `--augment` instead of the zoo's augmentation, as `keras-dl train`
takes them), cosine annealing to 1% over the epochs,
early stopping on `--monitor`, validation loss by default, with patience 5 and the best
weights restored, as `keras-dl train` does), then reports test accuracy on the 10,000 test
images. The augmentation model runs on each training batch in float32, as in the trainer's input
pipeline: inside the compiled training step when all its layers compile (flip, crop,
perspective and erase do), else before it. With `--budget SECONDS` the number of epochs is fixed after the second epoch
(the first holds the compilation) to as many as fit in the budget, at most `--epochs`, and the
cosine runs over that count (the second epoch takes its rate from `--epochs`, under 1% off).

    KERAS_BACKEND=jax python bench/cnn_gpu.py throughput --precision mixed_float16,float32
    KERAS_BACKEND=jax python bench/cnn_gpu.py train wrn28_10 --precision mixed_bfloat16 --budget 400
    python bench/cnn_gpu.py train resnet18 --quick      # smoke run: thin network, 1,000 images
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
    from keras_dl.quiet import quiet_tensorflow

    quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_dl  # noqa: E402
from keras_dl import data  # noqa: E402
from keras_dl.data.augment import build_augmentation  # noqa: E402
from keras_dl.training import (  # noqa: E402
    MONITORS,
    OPTIMIZERS,
    PRECISIONS,
    annealed_learning_rate,
    float32_outputs,
    make_optimizer,
    monitor_mode,
    precision_policy,
)

QUICK = {"limit": 1000, "test_limit": 500, "epochs": 1, "width_multiplier": 0.125}


def zoo_module():
    """`apps/cnn_zoo.py`, loaded once (this script shares its settings and checks)."""
    global _ZOO_MODULE
    if _ZOO_MODULE is None:
        path = Path(__file__).resolve().parent.parent / "apps" / "cnn_zoo.py"
        spec = importlib.util.spec_from_file_location("cnn_zoo", path)
        _ZOO_MODULE = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_ZOO_MODULE)
    return _ZOO_MODULE


_ZOO_MODULE = None


def zoo_settings():
    """`apps/cnn_zoo.py`'s table of small-image settings (one source for both scripts)."""
    return zoo_module().ZOO


def device_name():
    """The first accelerator's name, or "cpu", as the active backend sees it."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return "cpu" if device.platform == "cpu" else device.device_kind
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return "cpu"
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    return "cpu"


def resnet50_throughput(precision, *, batch, steps, warmup, image_size=224, classes=1000):
    """Training images/s of ResNet-50 under `precision` on the default device."""
    with precision_policy(precision):
        keras.utils.set_random_seed(0)
        model = float32_outputs(keras_dl.create_model(
            "resnet50", input_shape=(image_size, image_size, 3), num_classes=classes))
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                      loss="sparse_categorical_crossentropy")
        rng = np.random.default_rng(0)
        x = keras.ops.convert_to_tensor(
            rng.random((batch, image_size, image_size, 3), dtype="float32"))
        y = keras.ops.convert_to_tensor(rng.integers(0, classes, batch).astype("int32"))
        started = time.perf_counter()
        for _ in range(warmup):
            model.train_on_batch(x, y)
        warmup_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(steps):
            loss = model.train_on_batch(x, y)  # returns a host float: each step is finished
        seconds = time.perf_counter() - started
    return {"model": f"resnet50 {image_size}x{image_size}x3, {classes} classes",
            "parameters": int(model.count_params()), "precision": precision,
            "jit_compile": bool(model.jit_compile), "batch": batch, "steps": steps,
            "warmup_steps": warmup, "warmup_seconds": round(warmup_seconds, 1),
            "train_images_per_s": round(steps * batch / seconds, 1),
            "finite_loss": bool(np.isfinite(loss))}


class TrainingOnly(keras.layers.Layer):
    """The augmentation model inside the compiled training step: applied to each training
    batch, never to validation or test images (as in the trainer's input pipeline)."""

    def __init__(self, augmentation, **kwargs):
        super().__init__(**kwargs)
        self.augmentation = augmentation

    def build(self, input_shape):
        self.augmentation.build(input_shape)

    def call(self, inputs, training=None):
        return self.augmentation(inputs, training=True) if training else inputs

    def compute_output_shape(self, input_shape):
        return input_shape


def compiles(augmentation):
    """Whether every layer of the augmentation model can run inside an XLA-compiled step."""
    return all(layer.supports_jit for layer in augmentation.layers)


class AugmentedBatches(keras.utils.PyDataset):
    """Shuffled training batches with the augmentation model applied to each batch's images, as
    the trainer's input pipeline does (`keras_dl.data.augment_batches`).

    For augmentations that cannot be compiled: several of Keras' image layers
    (`RandomTranslation`, `RandomRotation`, `RandomShear`, `RandomZoom`, `RandomCrop`) declare
    `supports_jit = False`, and one such layer inside the model makes Keras run the whole step
    op by op (seen on an H200: ResNet-18's first epoch took 456 s that way, against 48 s with
    the compilation when the augmentation ran here, before the step).
    """

    def __init__(self, x, y, batch_size, augmentation=None, seed=0):
        super().__init__()
        self.x, self.y, self.batch_size, self.augmentation = x, y, batch_size, augmentation
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(x))

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        images = self.x[rows]
        if self.augmentation is not None:
            images = keras.ops.convert_to_numpy(self.augmentation(images, training=True))
        return images, self.y[rows]

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.x))


class EpochBudget(keras.callbacks.Callback):
    """Times each epoch; with a budget, fixes the epoch count after the second epoch.

    `self.epochs` is the count the cosine schedule reads; training stops after that many, or
    earlier (`cut_short`) when another epoch like the last would end past the budget by more
    than 10%.
    """

    def __init__(self, epochs, budget=None):
        super().__init__()
        self.epochs = epochs
        self.budget = budget
        self.seconds = []
        self.cut_short = False

    def on_train_begin(self, logs=None):
        self._train_start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._epoch_start)
        if self.budget is not None and epoch == 1:
            left = self.budget - (time.perf_counter() - self._train_start)
            fit = 2 + int(left // self.seconds[-1])
            self.epochs = max(2, min(self.epochs, fit))
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True
        elif self.budget is not None and (time.perf_counter() - self._train_start
                                          + self.seconds[-1] > 1.1 * self.budget):
            self.cut_short = True
            self.model.stop_training = True


class HistoryLog(keras.callbacks.Callback):
    """Appends each epoch's metrics as one JSON line (kept if the run is cut short)."""

    def __init__(self, path, timer):
        super().__init__()
        self.path, self.timer = path, timer

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "seconds": round(self.timer.seconds[-1], 1),
               "learning_rate": float(keras.ops.convert_to_numpy(
                   self.model.optimizer.learning_rate)),
               **{key: round(float(value), 5) for key, value in (logs or {}).items()
                  if key != "learning_rate"}}
        with open(self.path, "a") as stream:
            stream.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


def train_zoo_model(name, *, precision="float32", epochs=None, budget=None, batch_size=128,
                    seed=0, limit=None, test_limit=None, width_multiplier=None,
                    patience=5, monitor="val_loss", log_path=None, optimizer="adam",
                    learning_rate=None, weight_decay=0.0, augment=None):
    """Train `name`'s small-image variant on Fashion-MNIST; a dict of what was measured.

    `augment` replaces the zoo's augmentation for the model (None keeps it, "" for none).
    """
    entry = zoo_settings()[name]
    if augment is not None:
        entry = {**entry, "augment": augment or None}
    info = keras_dl.model_info(name)
    epochs = epochs or info.train_defaults["epochs"]
    learning_rate = learning_rate or info.train_defaults["learning_rate"]
    kwargs = dict(entry["kwargs"])
    if width_multiplier is not None:
        kwargs["width_multiplier"] = width_multiplier
    x, y = data.load_numpy("fashion_mnist", "train", limit=limit)
    x_train, y_train, x_val, y_val = data.train_validation_split(x, y, 0.1, seed)
    x_test, y_test = data.load_numpy("fashion_mnist", "test", limit=test_limit)
    keras.utils.set_random_seed(seed)
    augmentation = build_augmentation(entry.get("augment"), input_shape=x.shape[1:], seed=seed)
    with precision_policy(precision):
        model = float32_outputs(keras_dl.create_model(name, input_shape=x.shape[1:],
                                                      num_classes=10, **kwargs))
        in_graph = augmentation is not None and compiles(augmentation)
        if in_graph:  # flip and crop: compiled into the training step with the network
            inputs = keras.Input(x.shape[1:])
            augmented = TrainingOnly(augmentation, dtype="float32", name="augmentation")(inputs)
            fit_model = keras.Model(inputs, model(augmented), name=f"{name}_training")
        else:
            fit_model = model
        fit_model.compile(optimizer=make_optimizer(optimizer, learning_rate, weight_decay),
                          loss=keras.losses.SparseCategoricalCrossentropy(),
                          metrics=["accuracy"])
    timer = EpochBudget(epochs, budget)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                      mode=monitor_mode(monitor),
                                      restore_best_weights=True),
        keras.callbacks.LearningRateScheduler(
            lambda epoch, lr: annealed_learning_rate("cosine", learning_rate, epoch,
                                                     timer.epochs)),
        timer,
    ]
    if log_path is not None:
        callbacks.append(HistoryLog(log_path, timer))
    started = time.perf_counter()
    if augmentation is None or in_graph:
        history = fit_model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                                validation_data=(x_val, y_val), shuffle=True,
                                callbacks=callbacks, verbose=0)
    else:
        batches = AugmentedBatches(x_train, y_train, batch_size, augmentation, seed=seed)
        history = fit_model.fit(batches, epochs=epochs, validation_data=(x_val, y_val),
                                callbacks=callbacks, verbose=0)
    train_seconds = time.perf_counter() - started
    probabilities = model.predict(x_test, batch_size=500, verbose=0)
    test_accuracy = float(np.mean(np.argmax(probabilities, axis=-1) == y_test))
    watched = history.history[monitor]
    pick = np.argmin if monitor_mode(monitor) == "min" else np.argmax
    best_epoch = int(pick(watched)) + 1
    published = entry.get("published")
    return {
        "model": name, "builder_kwargs": kwargs, "augment": entry.get("augment"),
        "parameters": int(model.count_params()), "precision": precision,
        "jit_compile": bool(fit_model.jit_compile),
        "augmentation_runs": None if augmentation is None
        else "in the compiled step" if in_graph else "before each step",
        "batch_size": batch_size, "optimizer": optimizer, "learning_rate": learning_rate,
        "weight_decay": weight_decay,
        "epochs_planned": timer.epochs, "epochs_run": len(watched), "monitor": monitor,
        "best_epoch": best_epoch, "budget_seconds": budget,
        "cut_short_by_budget": timer.cut_short,
        "epoch_seconds": [round(s, 1) for s in timer.seconds],
        "train_seconds": round(train_seconds, 1),
        "train_examples": len(x_train), "validation_examples": len(x_val),
        "test_examples": len(x_test), "test_accuracy": test_accuracy,
        "published": published,
        "reaches_published": None if published is None else test_accuracy >= published[1],
        "history": {key: [round(float(v), 5) for v in values]
                    for key, values in history.history.items()},
    }


def environment():
    return {"backend": keras.backend.backend(), "keras": keras.__version__,
            "device": device_name(), "machine": f"{platform.machine()}, "
            f"{os.cpu_count()} CPU cores", "python": platform.python_version()}


def precision_list(text):
    values = [v.strip() for v in text.split(",") if v.strip()]
    bad = [v for v in values if v not in PRECISIONS]
    if bad or not values:
        raise argparse.ArgumentTypeError(
            f"unknown precision {bad[0] if bad else text!r}; allowed: {', '.join(PRECISIONS)}")
    return values


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def decay(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}")
    return value


def augment_argument(text):
    """`--augment`, checked as `apps/cnn_zoo.py` checks its own."""
    return zoo_module().augment_argument(text)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("throughput", help="ResNet-50 224x224 training images/s")
    p.add_argument("--precision", type=precision_list, default=["mixed_float16"],
                   help="comma-separated policies (default mixed_float16): "
                   + ", ".join(PRECISIONS))
    p.add_argument("--batch", type=positive_int, default=256, help="batch size (default 256)")
    p.add_argument("--steps", type=positive_int, default=20, help="timed steps (default 20)")
    p.add_argument("--warmup", type=positive_int, default=3, help="untimed steps (default 3)")
    p.add_argument("--image-size", type=positive_int, default=224)
    p.add_argument("--output", help="also write the JSON report to this file")
    p = commands.add_parser("train", help="train a zoo network's small-image variant")
    p.add_argument("model", help="a network of apps/cnn_zoo.py's zoo")
    p.add_argument("--precision", type=precision_list, default=["float32"],
                   help=f"one policy (default float32): {', '.join(PRECISIONS)}")
    p.add_argument("--epochs", type=positive_int, help="epochs (default: the registered 30)")
    p.add_argument("--budget", type=positive_float, metavar="SECONDS",
                   help="fit the epoch count to this many seconds of training")
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--optimizer", default="adam", choices=OPTIMIZERS, help="default adam")
    p.add_argument("--learning-rate", type=positive_float,
                   help="initial rate (default: the model's registered one)")
    p.add_argument("--weight-decay", type=decay, default=0.0,
                   help="decoupled weight decay, in [0, 1) (default 0: none)")
    p.add_argument("--augment", type=augment_argument, metavar="SPEC",
                   help="augmentation instead of the zoo's, e.g. 'flip,crop=4,erase', or 'none'")
    p.add_argument("--monitor", default="val_loss", choices=MONITORS,
                   help="what early stopping and the weights it restores watch (default val_loss)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=positive_int, help="use only the first N training images")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: width x0.125, 1 epoch, 1,000 training / 500 test images")
    p.add_argument("--output", help="also write the JSON report to this file")
    p.add_argument("--log", help="append each epoch's metrics to this file as JSON lines")
    args = parser.parse_args(argv)
    if args.command == "train":
        zoo = zoo_settings()
        if args.model not in zoo:
            parser.error(f"unknown model {args.model!r}; allowed: {', '.join(zoo)}")
        if len(args.precision) != 1:
            parser.error(f"train takes one --precision, got {','.join(args.precision)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    report = {"environment": environment()}
    if args.command == "throughput":
        report["throughput"] = []
        for precision in args.precision:
            row = resnet50_throughput(precision, batch=args.batch, steps=args.steps,
                                      warmup=args.warmup, image_size=args.image_size)
            report["throughput"].append(row)
            print(f"resnet50 {precision:15s} batch {row['batch']}: "
                  f"{row['train_images_per_s']:9.1f} training images/s "
                  f"(warm-up {row['warmup_seconds']} s)", flush=True)
            keras.backend.clear_session()
    else:
        quick = QUICK if args.quick else {}
        result = train_zoo_model(
            args.model, precision=args.precision[0],
            epochs=args.epochs or quick.get("epochs"), budget=args.budget,
            batch_size=args.batch_size, seed=args.seed,
            limit=args.limit or quick.get("limit"), test_limit=quick.get("test_limit"),
            width_multiplier=quick.get("width_multiplier"), monitor=args.monitor,
            log_path=args.log, optimizer=args.optimizer, learning_rate=args.learning_rate,
            weight_decay=args.weight_decay, augment=args.augment)
        report["train"] = result
        print(f"{args.model} ({result['precision']}): test accuracy "
              f"{result['test_accuracy']:.4f} after {result['epochs_run']} epochs "
              f"(best {result['best_epoch']}), {result['train_seconds']} s of training",
              flush=True)
    report["environment"]["device"] = device_name()
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "train"}
                     | ({"train": {k: v for k, v in report["train"].items() if k != "history"}}
                        if "train" in report else {}), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
