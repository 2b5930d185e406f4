"""Vanishing gradients and depth (lectures 000, 002 and 004).

Lecture 000 (after Nielsen 2015) writes the gradient reaching the first layer of a deep
sigmoid network as a product `σ'(z₁) · w₂σ'(z₂) · w₃σ'(z₃) · ...` in which every factor is
below ¼ (σ' ≤ ¼), so the first layers learn far more slowly than the last ("multilayer
perceptron training of more than two hidden layers with backpropagation does not work well",
lecture 002); the remedies it names are better initialisation with ReLU units, batch
normalisation and residual links.

Five MLPs of the same depth and width are trained on Fashion-MNIST with plain SGD and momentum:
sigmoid and tanh (Glorot initialisation), ReLU (He), ReLU + batch normalisation (He), and a
residual network (identity skips around every hidden layer; sigmoid units by default, so
that the skips alone are what changes against the plain sigmoid network). After every epoch
(and before the first) the app records the norm of the loss gradient with respect to each
layer's weights, on a fixed batch, and the test accuracy. The per-layer *shrink factor*
‖∂C/∂W_l‖ / ‖∂C/∂W_{l+1}‖ (how much the gradient shrinks passing one layer down) is drawn
against the bound of the activation's derivative (¼ for the sigmoid, 1 for tanh and ReLU) and
the mean derivative f'(z) measured in each layer. Layer 1 is left out of the shrink factors'
summary and figure: its gradient is the image times the error, so its size follows the
784 pixels rather than a hidden layer's outputs.

Writes to `apps/output/vanishing_gradients/`: `gradient_norms.png` (per layer, one line per
epoch, one panel per network), `shrink_factors.png` (at initialisation, with the bounds),
`test_accuracy.png` (over epochs) and `results.json`. The default run (depth 10, width 256,
10,000 images, 5 epochs) takes about 1.5 minutes on 2 CPU cores.

    python apps/vanishing_gradients.py [--depth 10] [--width 256] [--epochs 5] [--output DIR]
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
from keras_dl.evaluation import gradient_flow

ACTIVATIONS = ("sigmoid", "tanh", "relu")


def networks(residual_activation):
    """name → builder arguments of the five networks compared."""
    return {
        "sigmoid": {"activation": "sigmoid", "initializer": "glorot_uniform"},
        "tanh": {"activation": "tanh", "initializer": "glorot_uniform"},
        "relu": {"activation": "relu", "initializer": "he_normal"},
        "relu_bn": {"activation": "relu", "initializer": "he_normal", "batch_norm": True},
        f"residual_{residual_activation}": {
            "activation": residual_activation, "residual": True,
            "initializer": "he_normal" if residual_activation == "relu" else "glorot_uniform"},
    }


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=positive_int, default=10, help="hidden layers")
    parser.add_argument("--width", type=positive_int, default=256, help="units per hidden layer")
    parser.add_argument("--epochs", type=positive_int, default=5)
    parser.add_argument("--train-size", type=positive_int, default=10_000,
                        help="Fashion-MNIST training images used (at most 60000)")
    parser.add_argument("--test-size", type=positive_int, default=2_000, help="test images (≤ 10000)")
    parser.add_argument("--probe-size", type=positive_int, default=500,
                        help="training images the gradient norms are taken on")
    parser.add_argument("--batch-size", type=positive_int, default=100)
    parser.add_argument("--lr", type=positive_float, default=0.01, help="SGD step size (momentum 0.9)")
    parser.add_argument("--residual-activation", default="sigmoid", choices=ACTIVATIONS,
                        help="units of the residual network")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--output", default="apps/output/vanishing_gradients")
    args = parser.parse_args(argv)
    for option, value, most in (("--train-size", args.train_size, 60_000),
                                ("--test-size", args.test_size, 10_000)):
        if value > most:  # Fashion-MNIST's training and test set sizes
            parser.error(f"{option} must be at most {most}, got {value}")
    if args.depth < 3:
        parser.error(f"--depth must be at least 3 (a shrink factor compares two hidden "
                     f"layers above the first), got {args.depth}")
    if args.probe_size > args.train_size:
        parser.error(f"--probe-size must be at most --train-size ({args.train_size}), "
                     f"got {args.probe_size}")
    return args


def hidden_gradient_norms(model, x, y, depth):
    """‖∂C/∂W_l‖ of hidden layers 1..depth on the probe batch."""
    names = [f"hidden{i}_dense" for i in range(1, depth + 1)]
    norms = gradient_flow.probe_gradient_norms(model, x, y, layers=names)
    return [norms[name] for name in names]


def mean_derivatives(model, x, activation, depth):
    """The mean of f'(z) over the units and examples of each hidden layer."""
    names = [f"hidden{i}_act" for i in range(1, depth + 1)]
    outputs = gradient_flow.probe_outputs(model, x, names)
    return [float(gradient_flow.activation_derivatives(activation, outputs[n]).mean())
            for n in names]


def run_network(args, name, kwargs, arrays):
    """Train one network epoch by epoch, measuring before the first epoch and after each."""
    (x_train, y_train), (x_test, y_test), (x_probe, y_probe) = arrays
    keras.utils.set_random_seed(args.seed)
    model = keras_dl.create_model("deep_mlp", depth=args.depth, width=args.width,
                                  seed=args.seed, **kwargs)
    model.compile(optimizer=keras.optimizers.SGD(args.lr, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    activation = kwargs["activation"]
    record = {"builder_arguments": kwargs, "derivative_bound":
              gradient_flow.derivative_bound(activation),
              "mean_derivative_at_init": mean_derivatives(model, x_probe, activation, args.depth),
              "gradient_norms": [], "test_accuracy": [], "train_loss": []}

    def measure(logs=None):
        if logs is not None:  # after an epoch (None: before training)
            record["train_loss"].append(float(logs["loss"]))
            if kwargs.get("batch_norm"):
                training.recalibrate_batch_norm(model, x_train, batch_size=args.batch_size,
                                                seed=args.seed)
        record["gradient_norms"].append(hidden_gradient_norms(model, x_probe, y_probe,
                                                              args.depth))
        _, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
        record["test_accuracy"].append(float(accuracy))

    start = time.perf_counter()
    measure()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, shuffle=True,
              verbose=0, callbacks=[keras.callbacks.LambdaCallback(
                  on_epoch_end=lambda epoch, logs: measure(logs))])
    record["seconds"] = round(time.perf_counter() - start, 1)
    at_init = gradient_flow.shrink_factors(record["gradient_norms"][0])
    record["shrink_factors_at_init"] = at_init.tolist()
    # Between hidden layers only: layer 1's kernel gradient is x^T δ₁, scaled by the image
    # (784 pixels) rather than by a hidden layer's output, so its ratio is not the w·f'(z)
    # factor of the lecture.
    record["geometric_mean_shrink_factor_at_init"] = float(np.exp(np.mean(np.log(at_init[1:]))))
    norms = record["gradient_norms"][0]
    record["first_to_last_gradient_ratio_at_init"] = norms[0] / norms[-1]
    return record


def plot_gradient_norms(records, path):
    figure, axes = plt.subplots(1, len(records), figsize=(4 * len(records), 4.2),
                                sharey=True, squeeze=False)
    for axis, (name, record) in zip(axes[0], records.items()):
        epochs = len(record["gradient_norms"])
        colours = plt.cm.viridis(np.linspace(0, 0.9, epochs))
        for epoch, (norms, colour) in enumerate(zip(record["gradient_norms"], colours)):
            axis.semilogy(range(1, len(norms) + 1), np.maximum(norms, 1e-30), color=colour,
                          marker="o", markersize=3, label=f"epoch {epoch}")
        axis.set_title(f"{name} (test acc. {record['test_accuracy'][-1]:.2f})")
        axis.set_xlabel("hidden layer l")
    axes[0, 0].set_ylabel("‖∂C/∂W_l‖")
    axes[0, -1].legend(fontsize=7)
    figure.suptitle("Gradient norm per layer, before training (epoch 0) and after each epoch")
    visualize.save_figure(figure, path, dpi=110)


def plot_shrink_factors(records, path):
    figure, axis = plt.subplots(figsize=(8, 5))
    for (name, record), colour in zip(records.items(), plt.cm.tab10.colors):
        factors = record["shrink_factors_at_init"][1:]  # hidden → hidden (see run_network)
        layers = np.arange(2, len(factors) + 2)
        axis.semilogy(layers, factors, "o-", color=colour, label=f"{name}: measured")
        if record["builder_arguments"]["activation"] == "sigmoid":
            axis.semilogy(layers, record["mean_derivative_at_init"][1:-1], ":", color=colour,
                          label=f"{name}: mean σ'(z) of layer l")
    axis.axhline(0.25, color="black", linestyle="--", label="σ'(z) ≤ ¼ (sigmoid bound)")
    axis.axhline(1.0, color="grey", linestyle="--", label="tanh', ReLU' ≤ 1")
    axis.set_xlabel("layer l")
    axis.set_ylabel("shrink factor ‖∂C/∂W_l‖ / ‖∂C/∂W_{l+1}‖")
    axis.set_title("How much the gradient shrinks per layer, at initialisation\n"
                   "(from layer 2: layer 1's gradient scales with the image, not a hidden output)",
                   fontsize=10)
    axis.legend(fontsize=7)
    visualize.save_figure(figure, path, dpi=110)


def plot_accuracy(records, path):
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for name, record in records.items():
        axis.plot(range(len(record["test_accuracy"])), record["test_accuracy"], "o-",
                  label=name)
    axis.set_xlabel("epoch")
    axis.set_ylabel("test accuracy")
    axis.set_ylim(0, 1)
    axis.set_title("Test accuracy over training (same depth, width, optimizer)")
    axis.legend(fontsize=8)
    visualize.save_figure(figure, path, dpi=110)


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    x_train, y_train = data.load_numpy("fashion_mnist", "train", limit=args.train_size)
    x_test, y_test = data.load_numpy("fashion_mnist", "test", limit=args.test_size)
    arrays = ((x_train, y_train), (x_test, y_test),
              (x_train[:args.probe_size], y_train[:args.probe_size]))

    records = {}
    for name, kwargs in networks(args.residual_activation).items():
        records[name] = record = run_network(args, name, kwargs, arrays)
        print(f"{name:>18}: shrink factor per hidden layer at init "
              f"{record['geometric_mean_shrink_factor_at_init']:.3f} "
              f"(bound {record['derivative_bound']}), test accuracy by epoch "
              + " ".join(f"{a:.2f}" for a in record["test_accuracy"]))
    plot_gradient_norms(records, output / "gradient_norms.png")
    plot_shrink_factors(records, output / "shrink_factors.png")
    plot_accuracy(records, output / "test_accuracy.png")
    results = {
        "experiment": f"vanishing gradients: {args.depth} × {args.width} MLPs on Fashion-MNIST",
        "settings": {k: v for k, v in vars(args).items() if k != "output"},
        "networks": records,
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures and results.json in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
