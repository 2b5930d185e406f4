"""Lecture 004's loss functions: the same MLP trained on each, side by side.

Lecture 004 ("types of loss functions") lists the quadratic loss `‖ŷ − y‖₂²`, the absolute loss
`‖ŷ − y‖₁`, the zero-one loss `1(argmax ŷ ≠ c)` and the cross-entropy `−log ŷ_c`. The zero-one
loss is what we care about, but its gradient is zero almost everywhere, so networks are
trained on a differentiable stand-in; this app trains the same 784-225-225-10 ReLU MLP with
each stand-in (`keras-dl train mlp --loss cross_entropy|l2|l1`) from the same initial weights
on the same batches, and reports the zero-one loss (test error) each reaches.

Through a softmax, the quadratic and absolute losses lose their gradient when the correct
class is confidently wrong (ŷ_c → 0), while the cross-entropy's grows: the figure
`loss_vs_probability.png` shows each loss and the size of its gradient with respect to the
correct class's logit as a function of ŷ_c.

Writes to `apps/output/losses/`: `loss_curves.png` (training loss and validation zero-one
error per epoch for each loss), `loss_vs_probability.png`, and `results.json`. The default
(SGD at 0.1, 10 epochs on all of Fashion-MNIST) takes about 2 minutes on 2 CPU cores.

    python apps/losses.py [--epochs 10] [--optimizer sgd] [--lr 0.1] [--output DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow
from keras_dl.settings import LOSSES, OPTIMIZERS

matplotlib.use("Agg")
quiet_tensorflow()

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_dl import training, visualize  # noqa: E402
from keras_dl.tasks.losses import classification_loss  # noqa: E402

LABELS = {"cross_entropy": "cross-entropy −log ŷ_c", "l2": "quadratic ‖ŷ − y‖₂²",
          "l1": "absolute ‖ŷ − y‖₁"}
COLOURS = {"cross_entropy": "tab:blue", "l2": "tab:orange", "l1": "tab:green"}


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100, help="lecture 001's 100")
    parser.add_argument("--optimizer", default="sgd", choices=OPTIMIZERS,
                        help="default sgd: plain gradient descent shows the losses' gradients "
                        "as they are (adaptive steps rescale them)")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--limit", type=int, help="first N training and test examples")
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="apps/output/losses")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    if not args.lr > 0:
        parser.error(f"--lr must be a positive number, got {args.lr}")
    return args


def loss_and_gradient_vs_probability(name, classes=10, points=199):
    """The loss of `name` and |∂loss/∂z_c| (z_c: the correct class's logit) for softmax outputs
    whose correct class has probability p ∈ (0, 1) and the rest share 1 − p equally."""
    p = np.linspace(0.005, 0.995, points).astype("float32")
    rest = np.log((1 - p) / (classes - 1))
    logits = np.tile(rest[:, None], (1, classes))
    logits[:, 0] = np.log(p)
    logits = keras.Variable(logits)
    loss = classification_loss(name, from_logits=True)
    labels = np.zeros(points, "int32")
    import tensorflow as tf  # the gradient of a Keras loss, taken eagerly

    with tf.GradientTape() as tape:
        values = loss.call(labels, logits)
        total = tf.reduce_sum(values)
    gradient = tape.gradient(total, logits)
    return p, np.asarray(values), np.abs(np.asarray(gradient)[:, 0])


def plot_loss_curves(histories, path, title):
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, history in histories.items():
        epochs = np.arange(1, len(history) + 1)
        loss = np.array([row["loss"] for row in history])
        left.plot(epochs, loss / loss[0], color=COLOURS[name], label=LABELS[name])
        right.plot(epochs, [1 - row["val_accuracy"] for row in history], color=COLOURS[name],
                   label=LABELS[name], marker="o", markersize=3)
    left.set(xlabel="epoch", ylabel="training loss / its first-epoch value",
             title="each loss, on its own scale")
    right.set(xlabel="epoch", ylabel="validation zero-one error", title="what they buy")
    for axis in (left, right):
        axis.legend()
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    visualize.save_figure(figure, path)


def plot_vs_probability(curves, path):
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, (p, values, gradient) in curves.items():
        left.plot(p, values, color=COLOURS[name], label=LABELS[name])
        right.plot(p, gradient, color=COLOURS[name], label=LABELS[name])
    left.set(xlabel="ŷ_c, the probability of the correct class", ylabel="loss", ylim=(0, 4),
             title="the loss (10 classes, the others equal)")
    right.set(xlabel="ŷ_c", ylabel="|∂loss / ∂z_c|", yscale="log",
              title="its gradient at the correct class's logit")
    for axis in (left, right):
        axis.legend()
        axis.grid(alpha=0.3)
    visualize.save_figure(figure, path)


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    histories, rows = {}, {}
    for name in LOSSES:
        # no early stopping (patience = epochs) and a constant step: the curves compare the
        # losses themselves; the same seed gives the same initial weights and batches
        result = training.train(
            "mlp", dataset=args.dataset, run_dir=output / f"run_{name}", overwrite=True,
            epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
            optimizer=args.optimizer, lr_schedule="constant", patience=args.epochs,
            monitor="val_accuracy", loss=name, seed=args.seed, limit=args.limit, verbose=0,
            builder_kwargs={"hidden_units": (225, 225), "activation": "relu"},
        )
        histories[name] = result.history
        accuracy = result.metrics["test_accuracy"]
        rows[name] = {
            "test_zero_one_error": round(1 - accuracy, 4),
            "final_training_loss": round(result.history[-1]["loss"], 4),
            "validation_error_per_epoch": [round(1 - row["val_accuracy"], 4)
                                           for row in result.history],
            "train_seconds": round(result.metrics["train_seconds"], 1),
        }
        print(f"{name:>13}: test zero-one error {1 - accuracy:.4f}")
    plot_loss_curves(histories, output / "loss_curves.png",
                     f"784-225-225-10 ReLU MLP on {args.dataset}, {args.optimizer} at {args.lr}, "
                     "the same initial weights and batches")
    curves = {name: loss_and_gradient_vs_probability(name) for name in LOSSES}
    plot_vs_probability(curves, output / "loss_vs_probability.png")
    near_zero = {name: float(gradient[0]) for name, (_, _, gradient) in curves.items()}
    results = {
        "experiment": "lecture 004: one MLP trained with each loss; the zero-one loss reported",
        "dataset": args.dataset, "optimizer": args.optimizer, "learning_rate": args.lr,
        "epochs": args.epochs, "batch_size": args.batch_size, "limit": args.limit,
        "losses": rows,
        "gradient_at_correct_probability_0.005": near_zero,
        "best": min(rows, key=lambda name: rows[name]["test_zero_one_error"]),
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures and results.json in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
