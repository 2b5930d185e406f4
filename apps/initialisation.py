"""Initialisation and the distribution of activations (lecture 004, after Glorot & Bengio 2010
and the CS231n figures the lecture shows).

A 10-layer, 500-unit tanh network with weights from U(−0.01, 0.01) and with Glorot's
initialisation, and the same network with ReLU units and Glorot's or He's initialisation, each
with and without batch normalisation (8 networks): the histogram of every hidden layer's
activations at initialisation and after a short training on Fashion-MNIST, each layer's
standard deviation, and the norm of the loss gradient with respect to each layer's weights.
The lecture's variance argument for a network of linear layers,
Var(h_L) = Var(x) · Π n_in · Var(W), is checked on weights drawn by Keras' initializers.

What the lecture claims: with ±0.01 weights the tanh activations collapse to zero after a few
layers (and the gradients with them); Glorot's initialisation keeps their spread; for ReLU
Glorot's initialisation lets the spread decay and He's (Var W = 2 / n_in) keeps it; batch
normalisation makes every initialisation work.

Writes to `apps/output/initialisation/`: `histograms_<network>.png` (one per network: a row at
initialisation and a row after training, one panel per layer), `activation_std.png`,
`gradient_norms.png`, `linear_variance.png` and `results.json` (per-layer means, standard
deviations, saturated and dead shares, gradient norms, test accuracy, the variance check).
The default run (10,000 training images, 2 epochs, 8 networks) takes about 2 minutes on
2 CPU cores; `--train-size 2000 --epochs 1` under a minute.

    python apps/initialisation.py [--epochs 2] [--train-size 10000] [--output DIR]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import (  # one-line usage errors, exit 2
    ArgumentParser,
    non_negative_int,
    positive_float,
    positive_int,
)
from keras_dl.quiet import quiet_tensorflow

matplotlib.use("Agg")
quiet_tensorflow()

import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_dl
from keras_dl import data, training, visualize
from keras_dl.evaluation import gradient_flow, variance
from keras_dl.evaluation.layer_statistics import output_statistics

# (activation, initializer) of the lecture's four figures; each also runs with batch norm.
NETWORKS = (("tanh", "small_uniform"), ("tanh", "glorot_uniform"),
            ("relu", "glorot_uniform"), ("relu", "he_normal"))
LABELS = {"small_uniform": "U(±0.01)", "glorot_uniform": "Glorot", "he_normal": "He"}


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=positive_int, default=10, help="hidden layers (lecture: 10)")
    parser.add_argument("--width", type=positive_int, default=500, help="units per layer (lecture: 500)")
    parser.add_argument("--epochs", type=positive_int, default=2)
    parser.add_argument("--train-size", type=positive_int, default=10_000,
                        help="Fashion-MNIST training images used (at most 60000)")
    parser.add_argument("--test-size", type=positive_int, default=2_000, help="test images (≤ 10000)")
    parser.add_argument("--probe-size", type=positive_int, default=1_000,
                        help="training images the histograms and gradient norms are taken on")
    parser.add_argument("--batch-size", type=positive_int, default=100)
    parser.add_argument("--lr", type=positive_float, default=0.01, help="SGD step size (momentum 0.9)")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--output", default="apps/output/initialisation")
    args = parser.parse_args(argv)
    for option, value, most in (("--train-size", args.train_size, 60_000),
                                ("--test-size", args.test_size, 10_000)):
        if value > most:  # Fashion-MNIST's training and test set sizes
            parser.error(f"{option} must be at most {most}, got {value}")
    if args.probe_size > args.train_size:
        parser.error(f"--probe-size must be at most --train-size ({args.train_size}), "
                     f"got {args.probe_size}")
    return args


def network_name(activation, initializer, batch_norm):
    return f"{activation}_{initializer}" + ("_bn" if batch_norm else "")


def network_label(activation, initializer, batch_norm):
    return f"{activation}, {LABELS[initializer]}" + (" + BN" if batch_norm else "")


def measure(model, x, y, depth):
    """Per hidden layer: the activations (for the histograms), their statistics, and the
    gradient norm of each hidden layer's kernel (in training mode for batch norm)."""
    names = [f"hidden{i}_act" for i in range(1, depth + 1)]
    values = gradient_flow.probe_outputs(model, x, names)
    activation = model.get_layer(names[0]).get_config()["activation"]
    stats = {name: output_statistics(values[name], activation) for name in names}
    dense = [f"hidden{i}_dense" for i in range(1, depth + 1)] + ["predictions"]
    norms = gradient_flow.probe_gradient_norms(model, x, y, layers=dense)
    return values, stats, norms


def run_network(args, activation, initializer, batch_norm, arrays):
    """Build, measure, train, measure again; return the record and the activations."""
    (x_train, y_train), (x_test, y_test), (x_probe, y_probe) = arrays
    keras.utils.set_random_seed(args.seed)
    model = keras_dl.create_model("deep_mlp", depth=args.depth, width=args.width,
                                  activation=activation, initializer=initializer,
                                  batch_norm=batch_norm, seed=args.seed)
    values_init, stats_init, norms_init = measure(model, x_probe, y_probe, args.depth)
    model.compile(optimizer=keras.optimizers.SGD(args.lr, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    if batch_norm:  # a few hundred steps leave the running averages far from the batch's
        training.recalibrate_batch_norm(model, x_train, batch_size=args.batch_size,
                                        seed=args.seed)
    values_trained, stats_trained, norms_trained = measure(model, x_probe, y_probe, args.depth)
    _, test_accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    record = {
        "label": network_label(activation, initializer, batch_norm),
        "activation": activation, "initializer": initializer, "batch_norm": batch_norm,
        "std_at_init": [stats_init[n]["std"] for n in stats_init],
        "std_after_training": [stats_trained[n]["std"] for n in stats_trained],
        "gradient_norms_at_init": norms_init,
        "gradient_norms_after_training": norms_trained,
        "layers_at_init": stats_init, "layers_after_training": stats_trained,
        "train_loss": [float(v) for v in history.history["loss"]],
        "test_accuracy": float(test_accuracy), "train_seconds": round(seconds, 1),
    }
    return record, values_init, values_trained


def plot_histograms(record, values_init, values_trained, path):
    """The CS231n figure: one histogram per layer, at initialisation and after training."""
    depth = len(values_init)
    figure, axes = plt.subplots(2, depth, figsize=(1.9 * depth, 4.6), sharey="row",
                                squeeze=False)
    bounds = (-1.0, 1.0) if record["activation"] == "tanh" else None
    for row, (when, values) in enumerate((("at init", values_init),
                                          ("trained", values_trained))):
        for column, (name, layer_values) in enumerate(values.items()):
            axis = axes[row, column]
            flat = layer_values.ravel()
            top = max(float(np.percentile(flat, 99.5)), 1e-6)
            axis.hist(flat, bins=41, range=bounds or (0.0, top), color="tab:blue")
            axis.set_title(f"layer {column + 1}\nσ = {flat.std():.2g}", fontsize=8)
            axis.tick_params(labelsize=6)
            axis.set_yticks([])
        axes[row, 0].set_ylabel(when)
    figure.suptitle(f"Activations per layer: {record['label']} "
                    f"(test accuracy after training {record['test_accuracy']:.3f})")
    visualize.save_figure(figure, path, dpi=100)


def _lines(axis, records, key, title, ylabel):
    for record in records.values():
        values = record[key]
        values = list(values.values()) if isinstance(values, dict) else values
        axis.semilogy(range(1, len(values) + 1), np.maximum(values, 1e-30),
                      linestyle="--" if record["batch_norm"] else "-", marker="o",
                      markersize=3, label=record["label"])
    axis.set_title(title)
    axis.set_xlabel("layer")
    axis.set_ylabel(ylabel)


def plot_before_and_after(records, key, ylabel, title, path):
    """Two panels, `{key}_at_init` and `{key}_after_training` per layer, every network."""
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    _lines(axes[0], records, f"{key}_at_init", "at initialisation", ylabel)
    _lines(axes[1], records, f"{key}_after_training", "after training", "")
    axes[1].legend(fontsize=7)
    figure.suptitle(title)
    visualize.save_figure(figure, path, dpi=110)


def variance_checks(args):
    """The linear-network argument on 784 → width × depth, for each initializer."""
    widths = [784] + [args.width] * args.depth
    return {name: variance.sample_linear_network(widths, name, examples=args.probe_size,
                                                 seed=args.seed)
            for name in ("small_uniform", "glorot_uniform", "he_normal")}


def plot_variance(checks, path):
    figure, axis = plt.subplots(figsize=(7, 4.8))
    for (name, check), colour in zip(checks.items(), ("tab:red", "tab:blue", "tab:green")):
        layers = np.arange(1, len(check.predicted) + 1)
        axis.semilogy(layers, check.predicted, color=colour, label=f"{name}: formula")
        axis.semilogy(layers, check.measured, "o", color=colour, label=f"{name}: measured")
    axis.set_xlabel("linear layer l")
    axis.set_ylabel("Var(h_l)")
    axis.set_title("Var(h_l) = Var(x) · Π n_in · Var(W) in a linear network")
    axis.legend(fontsize=8)
    visualize.save_figure(figure, path, dpi=110)


def load_arrays(args):
    x_train, y_train = data.load_numpy("fashion_mnist", "train", limit=args.train_size)
    x_test, y_test = data.load_numpy("fashion_mnist", "test", limit=args.test_size)
    probe = (x_train[:args.probe_size], y_train[:args.probe_size])
    return (x_train, y_train), (x_test, y_test), probe


def summary(records):
    """The quality bar in numbers: last / first hidden layer's std at initialisation."""
    return {name: {"std_layer1": r["std_at_init"][0], "std_last_layer": r["std_at_init"][-1],
                   "ratio_last_to_first": r["std_at_init"][-1] / r["std_at_init"][0]}
            for name, r in records.items()}


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    arrays = load_arrays(args)

    records = {}
    for batch_norm in (False, True):
        for activation, initializer in NETWORKS:
            name = network_name(activation, initializer, batch_norm)
            record, values_init, values_trained = run_network(args, activation, initializer,
                                                              batch_norm, arrays)
            records[name] = record
            plot_histograms(record, values_init, values_trained,
                            output / f"histograms_{name}.png")
            print(f"{record['label']:>22}: std layer 1 → {args.depth} at init "
                  f"{record['std_at_init'][0]:.3g} → {record['std_at_init'][-1]:.3g}; "
                  f"test accuracy {record['test_accuracy']:.3f}")
    plot_before_and_after(records, "std", "std of activations",
                          "Standard deviation of each hidden layer's activations",
                          output / "activation_std.png")
    plot_before_and_after(records, "gradient_norms", "‖∂loss/∂W‖",
                          "Norm of the loss gradient per layer (last point: the softmax layer)",
                          output / "gradient_norms.png")
    checks = variance_checks(args)
    plot_variance(checks, output / "linear_variance.png")

    results = {
        "experiment": f"lecture 004 initialisation: {args.depth} × {args.width} MLP on "
                      "Fashion-MNIST",
        "settings": {k: v for k, v in vars(args).items() if k != "output"},
        "std_at_init_summary": summary(records),
        "networks": records,
        "linear_network_variance": {name: check.as_dict() for name, check in checks.items()},
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    for name, check in checks.items():
        print(f"linear network, {name}: Var(h_{args.depth}) formula {check.predicted[-1]:.3g}, "
              f"measured {check.measured[-1]:.3g}")
    print(f"figures and results.json in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
