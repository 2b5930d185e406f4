"""Lecture 001's MLP on Fashion-MNIST: first-layer weights over epochs, and dead units.

The Aalto lecture trains `y = softmax(W3 h2 + b3)`, `h2 = relu(W2 h1 + b2)`,
`h1 = relu(W1 x + b1)` with W1 of size 225×784, using mini-batches of 100 (600 updates an
epoch) and an annealed step size, and shows

- W1 "after epoch 1, 2, 3, 4, 5, 10 and 50 (final)", each of the 225 rows as a 28×28 image;
- "On sparsity: how often h_i > 0? Histogram over units i. (Sometimes units become completely
  dead.)"

This script reproduces both on Fashion-MNIST and writes, to `apps/output/mlp_first_layer/`:
`first_layer_epoch_NN.png` (one per snapshot), `first_layer_over_epochs.png` (all of them),
`unit_activity.png` (the sparsity histogram for both hidden layers) and `results.json` (test
error beside the published Fashion-MNIST MLP, dead-unit counts). 50 epochs take about
3 minutes on 2 CPU cores; `--epochs 10` gives the early snapshots in under a minute.

    python apps/mlp_first_layer.py [--epochs 50] [--output DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow

matplotlib.use("Agg")
quiet_tensorflow()

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_dl import data, training, visualize  # noqa: E402

LECTURE_EPOCHS = (1, 2, 3, 4, 5, 10)  # and the last one
# Fashion-MNIST benchmark table (zalandoresearch/fashion-mnist README): "MLP 256-128-64, no
# preprocessing, test accuracy 0.900".
PUBLISHED = {"model": "MLP 256-128-64 (Fashion-MNIST benchmark table)", "test_accuracy": 0.900}


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50, help="the lecture trains 50")
    parser.add_argument("--batch-size", type=int, default=100, help="the lecture's 100")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="apps/output/mlp_first_layer")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, "
                         f"got {getattr(args, name)}")
    if not args.lr > 0:
        parser.error(f"--lr must be a positive number, got {args.lr}")
    return args


def plot_epochs(snapshots, path):
    epochs = sorted(snapshots)
    columns = 4
    rows = -(-len(epochs) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 4.2 * rows))
    for axis in axes.ravel():
        axis.axis("off")
    for axis, epoch in zip(axes.ravel(), epochs):
        images = visualize.kernel_images(snapshots[epoch], (28, 28))
        axis.imshow(visualize.tile_images(images), cmap="gray", interpolation="nearest")
        axis.set_title(f"W1 after epoch {epoch}" + (" (final)" if epoch == epochs[-1] else ""))
    figure.suptitle("First-layer weights of the 784-225-225-10 ReLU MLP on Fashion-MNIST "
                    "(each tile: one hidden unit's 28×28 input weights)")
    visualize.save_figure(figure, path, dpi=110)


def plot_activity(rates, path):
    figure, axes = plt.subplots(1, len(rates), figsize=(6 * len(rates), 4.2), squeeze=False)
    for axis, (layer, rate) in zip(axes[0], rates.items()):
        dead = int((rate == 0).sum())
        axis.hist(rate, bins=np.linspace(0, 1, 41), color="tab:blue", edgecolor="white")
        axis.set_xlabel("fraction of test images on which h_i > 0")
        axis.set_ylabel("number of hidden units i")
        axis.set_title(f"{layer}: {len(rate)} units, {dead} dead (never active)")
    figure.suptitle("On sparsity: how often is each ReLU unit active? (lecture 001)")
    visualize.save_figure(figure, path, dpi=120)


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)

    snapshots = training.WeightSnapshots("hidden1_dense", epochs=LECTURE_EPOCHS)
    # No early stopping (patience = epochs): the lecture shows W1 at a fixed final epoch.
    result = training.train(
        "mlp", dataset="fashion_mnist", run_dir=output / "run", epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.lr, lr_schedule="cosine",
        patience=args.epochs, seed=args.seed, overwrite=True, extra_callbacks=[snapshots],
        builder_kwargs={"hidden_units": (225, 225), "activation": "relu"},
    )

    for epoch, kernel in sorted(snapshots.snapshots.items()):
        visualize.save_image_grid(
            visualize.kernel_images(kernel, (28, 28)), output / f"first_layer_epoch_{epoch:02d}.png",
            title=f"W1 (225×784) after epoch {epoch}: one 28×28 tile per hidden unit",
        )
    plot_epochs(snapshots.snapshots, output / "first_layer_over_epochs.png")

    x_test, _ = data.load_numpy("fashion_mnist", "test")
    model = result.model
    hidden = keras.Model(model.inputs, [model.get_layer("hidden1_act").output,
                                        model.get_layer("hidden2_act").output])
    h1, h2 = hidden.predict(x_test, batch_size=1000, verbose=0)
    rates = {"hidden layer 1": visualize.activity_rates(h1),
             "hidden layer 2": visualize.activity_rates(h2)}
    plot_activity(rates, output / "unit_activity.png")

    accuracy = result.metrics["test_accuracy"]
    results = {
        "experiment": "lecture 001 MLP 784-225-225-10 (ReLU, softmax) on Fashion-MNIST",
        "epochs": result.metrics["epochs_run"],
        "batch_size": args.batch_size,
        "test_accuracy": accuracy,
        "test_error": 1 - accuracy,
        "evaluated_weights": f"best validation epoch {result.metrics['best_epoch']} "
                             "(restored at the end of training)",
        "published": {**PUBLISHED, "test_error": round(1 - PUBLISHED["test_accuracy"], 3)},
        "train_seconds": result.metrics["train_seconds"],
        "snapshot_epochs": sorted(snapshots.snapshots),
        "dead_units": {layer: int((rate == 0).sum()) for layer, rate in rates.items()},
        "mean_activity": {layer: float(rate.mean()) for layer, rate in rates.items()},
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"test error {1 - accuracy:.4f} (published {PUBLISHED['model']}: "
          f"{1 - PUBLISHED['test_accuracy']:.3f}); dead units: {results['dead_units']}")
    print(f"figures and results.json in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
