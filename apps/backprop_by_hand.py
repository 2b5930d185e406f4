"""Backpropagation by hand: a NumPy MLP and the same Keras MLP, trained side by side.

Lecture 001 ("Backpropagation": the chain rule, organised as dynamic programming over the
layers) and lecture 004 (the delta rule, `δ_i = Σ_j w_(i→j) δ_j`, times `f'`). The NumPy
network (`keras_dl.autodiff.backprop.NumpyMLP`) computes its gradients with the delta rule
written out; the Keras network is a functional model of `Dense` layers trained by
`train_on_batch` (TensorFlow's automatic differentiation and Keras' SGD). Both start from the
same weights and see the same minibatches of scikit-learn's 8×8 digits, with plain SGD and
the same step size: if the hand-written backpropagation is right, the two sets of weights stay
equal to float precision step after step.

Writes to `apps/output/backprop_by_hand/`: `loss_curves.png` (both training-loss curves, and
the largest weight difference after each step) and `results.json` (the max |difference| per
layer's kernel and bias, both networks' test accuracy). The default (200 steps of batch 32,
η = 0.3, a 64-32-16-10 tanh network, float64) takes about 10 seconds on 2 CPU cores, most of
it importing TensorFlow.

    python apps/backprop_by_hand.py [--steps 200] [--activation tanh] [--dtype float64]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser, UsageError, check_output_dir, positive_int
from keras_dl.quiet import quiet_tensorflow

matplotlib.use("Agg")
quiet_tensorflow()

import matplotlib.pyplot as plt
import numpy as np

from keras_dl import data, visualize
from keras_dl.autodiff import backprop

DTYPES = ("float64", "float32")


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=positive_int, default=200, help="SGD steps (200)")
    parser.add_argument("--batch-size", type=positive_int, default=32,
                        help="minibatch size (32); above 1,437 every step is the full set")
    parser.add_argument("--lr", type=float, default=0.3, help="the SGD step size η (0.3)")
    parser.add_argument("--hidden", default="32,16",
                        help="hidden layer widths, comma-separated (32,16)")
    parser.add_argument("--activation", default="tanh",
                        help=f"hidden activation: {', '.join(backprop.ACTIVATIONS)}")
    parser.add_argument("--dtype", default="float64",
                        help="float64 (agreement to ~1e-15) or float32 (~1e-7)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="apps/output/backprop_by_hand")
    args = parser.parse_args(argv)
    if not (args.lr > 0 and np.isfinite(args.lr)):
        parser.error(f"--lr must be a positive number, got {args.lr}")
    if args.activation not in backprop.ACTIVATIONS:
        parser.error(f"--activation must be one of {', '.join(backprop.ACTIVATIONS)}, "
                     f"got {args.activation!r}")
    if args.dtype not in DTYPES:
        parser.error(f"--dtype must be one of {', '.join(DTYPES)}, got {args.dtype!r}")
    try:
        args.hidden = tuple(int(width) for width in args.hidden.split(","))
    except ValueError:
        args.hidden = ()
    if not args.hidden or min(args.hidden) < 1:
        parser.error(f"--hidden must be positive integers separated by commas (e.g. 32,16), "
                     f"got {','.join(map(str, args.hidden)) or 'nothing usable'}")
    try:
        check_output_dir(args.output, "--output")
    except UsageError as error:
        parser.error(str(error))
    return args


def plot_losses(result, args, path):
    steps = np.arange(1, len(result.numpy_losses) + 1)
    figure, (losses, gaps) = plt.subplots(1, 2, figsize=(12, 4.2))
    losses.plot(steps, result.numpy_losses, color="tab:blue", linewidth=3, alpha=0.5,
                label="NumPy: delta rule by hand")
    losses.plot(steps, result.keras_losses, color="black", linestyle="--", linewidth=1,
                label="Keras: tf.GradientTape + SGD")
    losses.set_xlabel("SGD step")
    losses.set_ylabel("minibatch cross-entropy (before the step)")
    losses.set_title("Training loss: the two curves lie on each other")
    losses.legend()
    gaps.semilogy(steps, np.maximum(result.difference_per_step, 1e-18), color="tab:red")
    gaps.set_xlabel("SGD step")
    gaps.set_ylabel("max |W_numpy − W_keras| over all weights")
    gaps.set_title(f"Weight difference ({args.dtype})")
    figure.suptitle(f"Backpropagation by hand vs Keras: 64-{'-'.join(map(str, args.hidden))}-10 "
                    f"{args.activation} MLP on 8×8 digits, batch {args.batch_size}, "
                    f"η = {args.lr}")
    visualize.save_figure(figure, path, dpi=110)


def accuracy(probabilities, labels):
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    x_train, y_train = data.load_numpy("digits", "train")
    x_test, y_test = data.load_numpy("digits", "test")
    result = backprop.train_side_by_side(
        x_train, y_train, hidden_units=args.hidden, activation=args.activation,
        steps=args.steps, batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed,
        dtype=args.dtype)

    x_test = x_test.reshape(len(x_test), -1).astype(args.dtype)
    keras_probabilities = result.keras_model.predict(x_test, verbose=0)
    results = {
        "experiment": "lecture 001/004 backpropagation by hand (NumPy) vs Keras, same "
                      "initial weights and minibatches, plain SGD, 8x8 digits",
        "layers": [64, *args.hidden, 10],
        "activation": args.activation,
        "dtype": args.dtype,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "max_abs_difference": result.max_abs_difference,
        "max_abs_difference_overall": max(result.max_abs_difference.values()),
        "loss_first_step": {"numpy": result.numpy_losses[0], "keras": result.keras_losses[0]},
        "loss_last_step": {"numpy": result.numpy_losses[-1], "keras": result.keras_losses[-1]},
        "test_accuracy": {"numpy": accuracy(result.numpy_mlp.predict(x_test), y_test),
                          "keras": accuracy(keras_probabilities, y_test)},
    }
    output.mkdir(parents=True, exist_ok=True)
    plot_losses(result, args, output / "loss_curves.png")
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"after {args.steps} steps the weights differ by at most "
          f"{results['max_abs_difference_overall']:.2e} ({args.dtype}); test accuracy "
          f"NumPy {results['test_accuracy']['numpy']:.3f}, Keras "
          f"{results['test_accuracy']['keras']:.3f}")
    print(f"figure and results.json in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
