"""Lecture 004's units: XOR needs two layers, one hidden layer approximates a function, activations.

The lecture: "a single unit partitions the input space into two half-spaces", "two layers of
units can carve out an arbitrary convex polyhedron", and Cybenko's theorem (1989): a linear
combination of N sigmoids F(x) = Σ vᵢ sig(wᵢx + bᵢ) approximates any continuous f on [0, 1] to
any ε for N large enough. It lists the activations sig(x) = 1/(1 + exp(−βx)) with slope β, tanh,
ReLU, leaky ReLU max(0.1x, x) and maxout max(w₁x + b₁, w₂x + b₂).

This script trains one sigmoid unit and a two-layer network (tanh hidden layer) on XOR and draws
their decision regions, also searching a grid of threshold units for the best one; fits
sin(2πx) + 0.5x on [0, 1] with one sigmoid hidden layer of each width; and plots the activations
and their derivatives (by automatic differentiation). It writes, to
`apps/output/universal_approximation/`: `xor.png`, `approximation.png` (the fits),
`error_per_width.png`, `activations.png` and `results.json`. About 40 s on 2 CPU cores with the
defaults; `--widths 1 4 --steps 300` takes a few seconds.

    python apps/universal_approximation.py [--widths 1 2 4 8 16 32] [--steps 3000] [--output DIR]
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow

matplotlib.use("Agg")
quiet_tensorflow()

import matplotlib.pyplot as plt
import numpy as np

from keras_dl import visualize
from keras_dl.dynamics import approximation

XOR_HIDDEN_UNITS = 4  # two units also suffice in principle, but from many seeds get stuck at 50 %
MAX_WIDTH = 1024


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32],
                        help="hidden-layer sizes N to fit")
    parser.add_argument("--steps", type=int, default=3000, help="full-batch Adam steps per fit")
    parser.add_argument("--xor-steps", type=int, default=800, help="full-batch Adam steps on XOR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="apps/output/universal_approximation")
    args = parser.parse_args(argv)
    for width in args.widths:
        if not 1 <= width <= MAX_WIDTH:
            parser.error(f"--widths must be integers from 1 to {MAX_WIDTH}, got {width}")
    for name in ("steps", "xor_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, "
                         f"got {getattr(args, name)}")
    return args


def plot_xor(models, path):
    figure, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 5.5))
    for axis, (title, model) in zip(axes, models.items()):
        x1, x2, p = approximation.decision_grid(model)
        axis.contourf(x1, x2, p > 0.5, levels=[-0.5, 0.5, 1.5], colors=["#cfe0f5", "#f7d2c4"])
        axis.contour(x1, x2, p, levels=[0.5], colors="k")
        targets = approximation.XOR_TARGETS.astype(bool)
        for label, marker, mask in (("XOR = 0", "o", ~targets), ("XOR = 1", "s", targets)):
            axis.scatter(*approximation.XOR_INPUTS[mask].T, marker=marker, s=120,
                         edgecolor="k", label=label)
        axis.set_title(title)
        axis.set_xlabel("x₁")
        axis.set_ylabel("x₂")
        axis.legend(loc="center")
    figure.suptitle("Decision regions on XOR (orange: output > 0.5)")
    visualize.save_figure(figure, path, dpi=110)


def plot_fits(models, path):
    x = np.linspace(0, 1, 400, dtype="float32")[:, None]
    figure, axis = plt.subplots(figsize=(9, 5.5))
    axis.plot(x, approximation.target_function(x), "k", linewidth=3, label="f(x) = sin 2πx + x/2")
    for width, model in models.items():
        axis.plot(x, np.asarray(model(x)), label=f"N = {width} sigmoids")
    axis.set_xlabel("x")
    axis.legend(fontsize=8)
    axis.set_title("One sigmoid hidden layer, linear output: F(x) = Σᵢ vᵢ sig(wᵢx + bᵢ) + c")
    visualize.save_figure(figure, path, dpi=110)


def plot_errors(errors, path):
    figure, axis = plt.subplots(figsize=(7, 5))
    widths = [e["width"] for e in errors]
    axis.loglog(widths, [e["max_abs_error"] for e in errors], "o-", label="max |F − f|")
    axis.loglog(widths, [e["rms_error"] for e in errors], "s-", label="RMS error")
    axis.set_xlabel("hidden units N")
    axis.set_ylabel("error on [0, 1]")
    axis.legend()
    axis.set_title("Approximation error per width (Cybenko 1989)")
    visualize.save_figure(figure, path, dpi=110)


def plot_activations(path):
    x = np.linspace(-4, 4, 801)
    curves = approximation.activation_curves(x)
    figure, axes = plt.subplots(1, 2, figsize=(13, 5))
    for name, (values, derivatives) in curves.items():
        axes[0].plot(x, values, label=name)
        axes[1].plot(x, derivatives, label=name)
    axes[0].set_title("activation functions (lecture 004)")
    axes[1].set_title("their derivatives (automatic differentiation)")
    for axis in axes:
        axis.set_xlabel("x")
        axis.grid(alpha=0.3)
    axes[0].set_ylim(-2, 4)
    axes[1].legend(fontsize=8)
    visualize.save_figure(figure, path, dpi=110)
    return {name: {"max_derivative": float(np.max(d)), "min_derivative": float(np.min(d))}
            for name, (_, d) in curves.items()}


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)

    single, single_accuracy, single_loss = approximation.train_xor(0, args.xor_steps, seed=args.seed)
    double, double_accuracy, double_loss = approximation.train_xor(
        XOR_HIDDEN_UNITS, args.xor_steps, seed=args.seed)
    plot_xor({f"one sigmoid unit: accuracy {single_accuracy:.2f}": single,
              f"{XOR_HIDDEN_UNITS} tanh units, then a sigmoid unit: accuracy {double_accuracy:.2f}":
              double}, output / "xor.png")

    fits, errors = {}, []
    for width in args.widths:
        model, max_error, rms = approximation.fit_width(width, args.steps, seed=args.seed)
        fits[width] = model
        errors.append({"width": width, "max_abs_error": max_error, "rms_error": rms})
    plot_fits(fits, output / "approximation.png")
    plot_errors(errors, output / "error_per_width.png")
    derivatives = plot_activations(output / "activations.png")

    results = {
        "xor": {"one_sigmoid_unit": {"accuracy": single_accuracy, "final_loss": single_loss},
                "two_layers": {"hidden_units": XOR_HIDDEN_UNITS, "accuracy": double_accuracy,
                               "final_loss": double_loss},
                "best_threshold_unit_on_grid": approximation.best_threshold_unit_accuracy()},
        "target_function": "sin(2*pi*x) + 0.5*x on [0, 1]", "steps_per_fit": args.steps,
        "error_per_width": errors, "activation_derivative_ranges": derivatives,
    }
    (output / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps({"xor": results["xor"], "error_per_width": errors}, indent=1))
    return results


if __name__ == "__main__":
    main()
