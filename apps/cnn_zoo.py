"""Lecture 004's CNN zoo on Fashion-MNIST: every architecture's small-image variant, one command.

Trains AlexNet, VGG-16, Network-in-Network, GoogLeNet (with its two auxiliary classifiers
weighted 0.3), ResNet-18 (with augmentation: mirroring and 4-pixel crops), the CIFAR
ResNet-20 and ResNet-110 with stochastic depth, WRN-16-4 and WRN-28-10, FractalNet and
SqueezeNet 1.1, plus LeNet-5 as the 2-conv baseline, each through `keras_dl.training.train`
(run dirs under `--output/runs/`), and writes to `--output`:

- `results.json` and `results.md`: parameters, training seconds per epoch, test accuracy,
  beside the published Fashion-MNIST results (the benchmark table of zalandoresearch/
  fashion-mnist: 2-conv CNN 0.916, VGG16 0.935, GoogLeNet 0.937, ResNet18 with augmentation
  0.949, WRN-28-10 0.959) and the classical bar, scikit-learn's best SVC at 0.897;
- `filters_NAME.png`: the first convolution's filters; `feature_maps_NAME.png`: one test
  image's feature maps after the first convolution and at the end of each stage.

How long: a full run (each model's registered epochs, 30, on 54,000 training images) takes
days on 2 CPU cores for the large networks (WRN-28-10 is 36.5M parameters at 32×32): choose
with `--models` and `--epochs`, or run it on a GPU. `--quick` trains thin versions
(width × 0.125) for one epoch on 1,000 images as a smoke run (about a minute per model on
2 cores): its accuracies mean nothing.

Long runs can be interrupted: with `--resume`, a rerun of the same command keeps what
`--output` already holds. A finished run with the same settings is reported again, not
retrained; an unfinished one continues from its last finished epoch (the trainer's backup);
a run dir holding other settings is refused. Without `--resume` every run starts over.

    python apps/cnn_zoo.py --quick
    python apps/cnn_zoo.py --models resnet20,nin --epochs 15
    python apps/cnn_zoo.py --models resnet18 --epochs 30 --resume   # rerun after an interruption
    python apps/cnn_zoo.py --limit 3000 --epochs 3 --batch-size 64 --width-multiplier 0.25

The last is the learning probe of bench/RESULTS.md (each network thinned, a few minutes each).
`--augment SPEC` gives every network the same augmentation instead of its own (`none`: none),
e.g. `--models wrn28_10 --augment flip,crop=4,erase` for the published WRN-28-10 with Random
Erasing (0.963 in the same benchmark table).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow

matplotlib.use("Agg")
quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_dl  # noqa: E402
from keras_dl import data, training, visualize  # noqa: E402
from keras_dl.data.augment import augment_option  # noqa: E402

CLASSICAL_BAR = {"model": "SVC (scikit-learn, best of the benchmark table)", "accuracy": 0.897}

# name -> small-image settings; "published" from the Fashion-MNIST benchmark table
ZOO = {
    "lenet5": {"kwargs": {"modern": True},
               "published": ("2-conv CNN", 0.916)},
    "alexnet": {"kwargs": {"fc_units": 1024}, "published": None},
    "vgg16": {"kwargs": {"batch_norm": True}, "published": ("VGG16", 0.935)},
    "nin": {"kwargs": {}, "published": None},
    "googlenet": {"kwargs": {"batch_norm": True}, "published": ("GoogLeNet", 0.937)},
    "resnet18": {"kwargs": {}, "augment": "flip,crop=4",
                 "published": ("ResNet18 with augmentation", 0.949)},
    "resnet20": {"kwargs": {}, "augment": "flip,crop=4", "published": None},
    "resnet110": {"kwargs": {"stochastic_depth": 0.5}, "augment": "flip,crop=4",
                  "published": None},
    "wrn16_4": {"kwargs": {}, "augment": "flip,crop=4", "published": None},
    "wrn28_10": {"kwargs": {}, "augment": "flip,crop=4",
                 "published": ("WRN-28-10 with augmentation", 0.959)},
    "fractalnet": {"kwargs": {}, "published": None},
    "squeezenet1_1": {"kwargs": {}, "published": None},
}
QUICK = {"limit": 1000, "epochs": 1, "width_multiplier": 0.125}


def augment_argument(text):
    """`--augment`: a checked spec for Fashion-MNIST's grey images, or "" for none."""
    try:
        return augment_option(text, channels=1)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(ZOO),
                        help=f"comma-separated subset of: {', '.join(ZOO)}")
    parser.add_argument("--epochs", type=int, help="epochs per model (default: the model's)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--limit", type=int, help="use only the first N training images")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: thin models, 1 epoch, 1,000 images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width-multiplier", type=float,
                        help="thin (or widen) every model that takes a width multiplier")
    parser.add_argument("--optimizer", default="adam", choices=training.OPTIMIZERS,
                        help="for every model (default adam)")
    parser.add_argument("--learning-rate", type=float,
                        help="the optimizer's initial rate for every model (default: the "
                             "model's)")
    parser.add_argument("--weight-decay", type=float, default=0.0,
                        help="decoupled weight decay for every model (default 0: none)")
    parser.add_argument("--augment", type=augment_argument, metavar="SPEC",
                        help="augmentation for every model instead of its own, e.g. "
                             "'flip,crop=4,erase' (keras-dl train's --augment), or 'none'")
    parser.add_argument("--precision", default="float32", choices=training.PRECISIONS,
                        help="float32 (default), mixed_float16 (GPUs) or mixed_bfloat16 (GPUs; "
                             "CPUs with bfloat16 units, e.g. AMX)")
    parser.add_argument("--monitor", default="val_loss", choices=training.MONITORS,
                        help="what early stopping and the best checkpoint watch (default "
                             "val_loss)")
    parser.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2),
                        help="Keras' training output: 2 one line per epoch (default), 1 a "
                             "progress bar, 0 none (the table at the end only)")
    parser.add_argument("--output", default="apps/output/cnn_zoo")
    parser.add_argument("--resume", action="store_true",
                        help="keep finished runs in --output with the same settings and continue "
                             "unfinished ones (default: start every run over)")
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in args.models if m not in ZOO]
    if unknown or not args.models:
        parser.error(f"--models: unknown model {unknown[0] if unknown else '(none)'!r}; "
                     f"allowed: {', '.join(ZOO)}")
    for name in ("epochs", "batch_size", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    for name in ("width_multiplier", "learning_rate"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            parser.error(f"--{name.replace('_', '-')} must be a positive number, got {value}")
    if not 0 <= args.weight_decay < 1:
        parser.error(f"--weight-decay must be a number in [0, 1), got {args.weight_decay}")
    return args


def check_resumable(name, run_dir, settings):
    """`RunDirError` if `run_dir` holds a run (finished or not) trained with other settings,
    or a finished run whose model file is gone."""
    finished = (run_dir / "metrics.json").exists()
    changed = training.changed_setting(run_dir, training.resolve_config(name, **settings))
    if changed:
        key, held, wanted = changed
        raise training.RunDirError(
            f"run dir {str(run_dir)!r} holds a{'' if finished else 'n un'}finished run with "
            f"{key}={held!r}, not {wanted!r}; rerun with its settings, or without --resume to "
            "start it over"
        )
    if finished and not (run_dir / "model.keras").is_file():
        raise training.RunDirError(
            f"run dir {str(run_dir)!r} holds a finished run without its model.keras; rerun "
            "without --resume to start it over"
        )


def plan(args):
    """`(name, run_dir, settings)` for each model to train, in order."""
    runs = []
    for name in args.models:
        entry = ZOO[name]
        kwargs = dict(entry["kwargs"])
        epochs, limit = args.epochs, args.limit
        if args.quick:
            epochs, limit = epochs or QUICK["epochs"], limit or QUICK["limit"]
            if "width_multiplier" in keras_dl.model_info(name).parameters:
                kwargs["width_multiplier"] = QUICK["width_multiplier"]
        if args.width_multiplier and "width_multiplier" in keras_dl.model_info(name).parameters:
            kwargs["width_multiplier"] = args.width_multiplier
        settings = dict(dataset="fashion_mnist", epochs=epochs, batch_size=args.batch_size,
                        limit=limit, seed=args.seed, builder_kwargs=kwargs,
                        learning_rate=args.learning_rate, optimizer=args.optimizer,
                        weight_decay=args.weight_decay,
                        augment=entry.get("augment") if args.augment is None
                        else args.augment or None,
                        precision=args.precision, monitor=args.monitor)
        runs.append((name, Path(args.output) / "runs" / name, settings))
    return runs


def first_conv(model):
    return next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))


def save_filters(model, path, title):
    kernel = np.asarray(first_conv(model).kernel)  # (k, k, channels, filters)
    images = np.moveaxis(kernel.mean(axis=2), -1, 0)  # one k×k image per filter
    visualize.save_image_grid(images, path, title)


def stage_outputs(model):
    """The layers whose outputs the feature-map figure shows: the first conv, then stage ends."""
    first = first_conv(model).name
    names = [first]
    for layer in model.layers:
        if isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)) \
                or layer.name.endswith("_out") and "block1_" in layer.name:
            names.append(layer.name)
    return [model.get_layer(name) for name in dict.fromkeys(names)][:5]


def save_feature_maps(model, image, path, title):
    import matplotlib.pyplot as plt

    layers = stage_outputs(model)
    probe = keras.Model(model.inputs[0], [layer.output for layer in layers])  # one input
    outputs = probe(image[None], training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    figure, axes = plt.subplots(1, len(layers) + 1, figsize=(3 * (len(layers) + 1), 3.4))
    axes[0].imshow(image[..., 0], cmap="gray")
    axes[0].set_title("input")
    for axis, layer, output in zip(axes[1:], layers, outputs):
        maps = np.moveaxis(np.asarray(output)[0], -1, 0)[:16]
        axis.imshow(visualize.tile_images(maps), cmap="viridis")
        axis.set_title(f"{layer.name}\n{tuple(output.shape[1:])}", fontsize=8)
    for axis in axes:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(title)
    visualize.save_figure(figure, path, dpi=100)


def markdown_table(rows):
    lines = ["| model | parameters | augmentation | epochs | s / epoch | test accuracy | "
             "published (Fashion-MNIST) |", "|---|---:|---|---:|---:|---:|---|"]
    for row in rows:
        published = (f"{row['published'][0]} {row['published'][1]:.3f}" if row["published"]
                     else f"bar: SVC {CLASSICAL_BAR['accuracy']:.3f}")
        lines.append(f"| {row['model']} | {row['parameters']:,} | {row['augment'] or '—'} | "
                     f"{row['epochs']} | {row['seconds_per_epoch']:.1f} | "
                     f"{row['test_accuracy']:.4f} | {published} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    x_test, y_test = data.load_numpy("fashion_mnist", "test", limit=500 if args.quick else None)
    runs = plan(args)
    if args.resume:  # every run dir checked before anything trains
        try:
            for name, run_dir, settings in runs:
                check_resumable(name, run_dir, settings)
        except training.RunDirError as error:
            print(f"cnn_zoo: --resume: {error}", file=sys.stderr)
            return 2
    rows = []
    for name, run_dir, settings in runs:
        entry = ZOO[name]
        kwargs = settings["builder_kwargs"]
        started = time.perf_counter()
        reused = args.resume and (run_dir / "metrics.json").exists()
        if reused:  # finished with these settings: report it again
            model = keras_dl.load_model(run_dir / "model.keras")
            metrics = json.loads((run_dir / "metrics.json").read_text())
        else:
            result = training.train(name, run_dir=run_dir, overwrite=not args.resume,
                                    verbose=args.verbose, **settings)
            model, metrics = result.model, result.metrics
        row = {
            "model": name,
            "builder_kwargs": kwargs,
            "augment": entry.get("augment"),
            "precision": settings["precision"],
            "optimizer": settings["optimizer"],
            "weight_decay": settings["weight_decay"],
            "parameters": int(model.count_params()),
            "epochs": metrics["epochs_run"],
            "seconds_per_epoch": metrics["train_seconds"] / max(1, metrics["epochs_run"]),
            "test_accuracy": metrics["test_accuracy"],
            "test_examples": metrics["test_examples"],
            "published": entry["published"],
            "clears_classical_bar": metrics["test_accuracy"] >= CLASSICAL_BAR["accuracy"],
            "wall_seconds": round(time.perf_counter() - started, 1),
            "resumed": bool(metrics.get("resumed")),
            "reused": reused,
        }
        rows.append(row)
        print(f"{name:14s} {row['parameters']:>11,} params  {row['seconds_per_epoch']:7.1f} s/epoch"
              f"  test accuracy {row['test_accuracy']:.4f}"
              + (" (finished run kept)" if reused else " (resumed)" if row["resumed"] else ""),
              flush=True)
        save_filters(model, output / f"filters_{name}.png",
                     f"{name}: first-layer filters")
        save_feature_maps(model, x_test[0], output / f"feature_maps_{name}.png",
                          f"{name}: one test image through the network")
    results = {"quick": args.quick, "dataset": "fashion_mnist", "rows": rows,
               "classical_bar": CLASSICAL_BAR,
               "note": "quick runs are smoke runs; their accuracies mean nothing" if args.quick
               else "accuracies after the epochs shown"}
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (output / "results.md").write_text(markdown_table(rows))
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
