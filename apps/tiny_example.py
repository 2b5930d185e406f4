"""Lecture 001's "tiny example": two weights, one example, and how optimisers cross the cost.

The network h = w₁x, y ~ N(w₂h, 1) fitted to {x = 1, y = 1.5} with some weight decay has the cost
C(w₁, w₂) = (w₁w₂ − 1.5)² + 0.04(w₁² + w₂²): two minima at ±(√1.46, √1.46) and a saddle at the
origin. The lecture shows gradient descent at η = 0.25 ("too slow") and η = 0.35 ("oscillates"),
Newton's method ("less oscillations", "points to the wrong direction in places") and names
momentum, Adagrad, Adadelta and Adam; its exercise is Newton's method pointing the wrong way near
the saddle, after Dauphin et al. 2014 (saddle-free Newton, |H| in place of H).

This script runs Keras' own optimisers (SGD at both step sizes, momentum, Nesterov, Adagrad,
Adadelta, RMSprop, Adam) on two `keras.Variable`s, and Newton's method with the Hessian from
automatic differentiation, from one start; counts the steps each needs to stay within
`--tolerance` of a minimum; and starts Newton and saddle-free Newton near the saddle. It writes,
to `apps/output/tiny_example/`: `trajectories.png` (every method over the cost contours),
`gradient_descent.png` (η = 0.25 vs 0.35), `distance.png` (distance to the minimum per step),
`saddle.png` (Newton vs saddle-free Newton near the saddle) and `results.json`.
About 15 s on 2 CPU cores with the defaults.

    python apps/tiny_example.py [--start W1 W2] [--steps 1000] [--tolerance 1e-3] [--output DIR]
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
from keras_dl.dynamics import two_weight

# (label, make_optimizer name, step size). The lecture's two gradient-descent step sizes; the
# others chosen (from a few tried on this start) as each method's fastest steady setting.
# Adadelta keeps Zeiler's η = 1; RMSprop needs a small η because its steps stay about η long
# near the minimum (g / √mean g² does not shrink with g).
METHODS = (
    ("gradient descent η=0.25", "sgd", two_weight.SLOW_STEP),
    ("gradient descent η=0.35", "sgd", two_weight.OSCILLATING_STEP),
    ("momentum 0.9, η=0.05", "momentum", 0.05),
    ("Nesterov 0.9, η=0.05", "nesterov", 0.05),
    ("Adagrad η=0.5", "adagrad", 0.5),
    ("Adadelta η=1", "adadelta", 1.0),
    ("RMSprop η=0.001", "rmsprop", 0.001),
    ("Adam η=0.05", "adam", 0.05),
)
# The lecture's text does not give its start (its figures are not in the text); this one lies in
# Newton's basin of the minimum and lets η = 0.35 bounce without diverging.
DEFAULT_START = (0.5, 1.5)
SADDLE_START = (0.2, 0.1)  # near the saddle at the origin, for the lecture's exercise
NEWTON_STEPS = 20
REVERSAL_WINDOW = 50


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=float, nargs=2, default=DEFAULT_START,
                        metavar=("W1", "W2"), help="starting weights (default 0.5 1.5)")
    parser.add_argument("--steps", type=int, default=1000, help="steps per first-order method")
    parser.add_argument("--tolerance", type=float, default=1e-3,
                        help="converged: within this distance of a minimum to the end of the run")
    parser.add_argument("--output", default="apps/output/tiny_example")
    args = parser.parse_args(argv)
    if args.steps < REVERSAL_WINDOW + 2:
        parser.error(f"--steps must be an integer of at least {REVERSAL_WINDOW + 2}, got {args.steps}")
    if not (np.isfinite(args.tolerance) and args.tolerance > 0):
        parser.error(f"--tolerance must be a positive number, got {args.tolerance}")
    if not all(np.isfinite(w) and abs(w) <= 10 for w in args.start):
        parser.error(f"--start must be two numbers in [-10, 10], got {args.start[0]} {args.start[1]}")
    return args


def run_methods(start, steps, tolerance):
    """label → trajectory, with the measured summary of each run."""
    runs, summary = {}, {}
    for label, name, rate in METHODS:
        points = two_weight.optimizer_trajectory(name, rate, start, steps)
        runs[label] = points
        summary[label] = describe(points, tolerance, optimizer=name, learning_rate=rate)
    points = two_weight.newton_trajectory(start, NEWTON_STEPS)
    runs["Newton"] = points
    summary["Newton"] = describe(points, tolerance, optimizer="newton (autodiff Hessian)")
    return runs, summary


def describe(points, tolerance, **settings):
    distance = two_weight.distance_to_minimum(points)
    finite = bool(np.all(np.isfinite(points)))
    return {**settings, "steps_run": len(points) - 1,
            "steps_to_tolerance": two_weight.steps_to_tolerance(points, tolerance) if finite else None,
            "final_distance_to_minimum": float(distance[-1]) if finite else None,
            "final_point": points[-1].tolist() if finite else None,
            "diverged": not finite,
            "reversal_share_last_50": two_weight.reversal_share(points, REVERSAL_WINDOW)}


def contours(axis, limits=(-2.5, 2.5)):
    w1, w2, cost = two_weight.cost_grid(limits)
    levels = np.geomspace(two_weight.MINIMUM_COST, cost.max(), 25)
    axis.contour(w1, w2, cost, levels=levels, colors="lightgray", linewidths=0.8)
    axis.plot(*two_weight.MINIMA.T, "k*", markersize=10)
    axis.plot(0, 0, "kx", markersize=8)
    axis.set_xlabel("w₁")
    axis.set_ylabel("w₂")
    axis.set_aspect("equal")
    axis.set_xlim(limits)
    axis.set_ylim(limits)


def plot_trajectories(runs, summary, path):
    labels = list(runs)
    figure, axes = plt.subplots(3, 3, figsize=(13, 13))
    for axis, label in zip(axes.ravel(), labels):
        contours(axis)
        points = runs[label]
        axis.plot(points[:, 0], points[:, 1], ".-", color="tab:red", markersize=2.5, linewidth=0.8)
        axis.plot(*points[0], "o", color="tab:blue")
        steps = summary[label]["steps_to_tolerance"]
        axis.set_title(f"{label}\n" + (f"{steps} steps to tolerance" if steps is not None
                                       else "not within tolerance"), fontsize=10)
    figure.suptitle("C(w₁, w₂) = (w₁w₂ − 1.5)² + 0.04(w₁² + w₂²): Keras optimisers and Newton "
                    "(★ minima, × saddle)")
    visualize.save_figure(figure, path, dpi=100)


def plot_gradient_descent(runs, path):
    figure, axes = plt.subplots(1, 2, figsize=(12, 6))
    for axis, label, claim in zip(axes, list(runs)[:2], ("too slow", "oscillates")):
        contours(axis, limits=(-0.5, 2.5))
        points = runs[label][:60]
        axis.plot(points[:, 0], points[:, 1], ".-", color="tab:red")
        axis.set_title(f"{label} (lecture: {claim}), first 60 steps")
    visualize.save_figure(figure, path, dpi=100)


def plot_distance(runs, path):
    figure, axis = plt.subplots(figsize=(9, 5.5))
    for label, points in runs.items():
        distance = two_weight.distance_to_minimum(points)
        axis.semilogy(np.maximum(distance, 1e-9), label=label)
    axis.set_xlabel("step")
    axis.set_ylabel("distance to the nearer minimum")
    axis.set_xscale("symlog", linthresh=10)
    axis.legend(fontsize=8)
    visualize.save_figure(figure, path, dpi=110)


def saddle_exercise(start):
    """Newton and saddle-free Newton from near the saddle: trajectories and first steps."""
    runs = {"Newton": two_weight.newton_trajectory(start, NEWTON_STEPS),
            "saddle-free Newton": two_weight.newton_trajectory(start, NEWTON_STEPS, saddle_free=True)}
    summary = {}
    for label, points in runs.items():
        summary[label] = {
            "first_step": (points[1] - points[0]).tolist(),
            "distance_to_saddle_before_after_first_step": [float(np.linalg.norm(points[0])),
                                                           float(np.linalg.norm(points[1]))],
            "final_point": points[-1].tolist(),
            "final_distance_to_saddle": float(np.linalg.norm(points[-1])),
            "final_distance_to_minimum": float(two_weight.distance_to_minimum(points[-1])[0])}
    return runs, summary


def plot_saddle(runs, path):
    figure, axis = plt.subplots(figsize=(7, 7))
    contours(axis, limits=(-1.5, 1.5))
    for (label, points), color in zip(runs.items(), ("tab:red", "tab:green")):
        axis.plot(points[:, 0], points[:, 1], "o-", color=color, label=label, markersize=4)
    axis.set_title("Started near the saddle: Newton (−H⁻¹g) goes to it,\n"
                   "saddle-free Newton (−|H|⁻¹g, Dauphin et al. 2014) escapes to a minimum")
    axis.legend()
    visualize.save_figure(figure, path, dpi=110)


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)

    runs, summary = run_methods(args.start, args.steps, args.tolerance)
    plot_trajectories(runs, summary, output / "trajectories.png")
    plot_gradient_descent(runs, output / "gradient_descent.png")
    plot_distance(runs, output / "distance.png")
    saddle_runs, saddle_summary = saddle_exercise(SADDLE_START)
    plot_saddle(saddle_runs, output / "saddle.png")

    slow, oscillating = (summary[label] for label, _, _ in METHODS[:2])
    first_order = [s["steps_to_tolerance"] for label, s in summary.items() if label != "Newton"]
    newton = summary["Newton"]["steps_to_tolerance"]
    results = {
        "cost": "C(w1, w2) = (w1*w2 - 1.5)^2 + 0.04*(w1^2 + w2^2)",
        "minima": two_weight.MINIMA.tolist(), "minimum_cost": two_weight.MINIMUM_COST,
        "start": list(args.start), "tolerance": args.tolerance,
        "tolerance_rule": "steps until the run stays within tolerance of a minimum to its end",
        "methods": summary,
        "saddle_exercise": {"start": list(SADDLE_START), **saddle_summary},
        "quality_bars": {
            "step_0.25_converges": slow["steps_to_tolerance"] is not None,
            "step_0.35_oscillates": (oscillating["steps_to_tolerance"] is None
                                     and oscillating["reversal_share_last_50"] > 0.5),
            "newton_fewer_steps_than_every_first_order_method": newton is not None and all(
                steps is None or newton < steps for steps in first_order),
            "newton_points_to_saddle_and_saddle_free_escapes": (
                saddle_summary["Newton"]["final_distance_to_saddle"] < 1e-6
                and saddle_summary["saddle-free Newton"]["final_distance_to_minimum"]
                < args.tolerance),
        },
    }
    (output / "results.json").write_text(json.dumps(results, indent=2))
    for label, s in summary.items():
        print(f"{label:26s} steps to tolerance: {s['steps_to_tolerance']!s:>5}  "
              f"final distance {s['final_distance_to_minimum']}  "
              f"reversals {s['reversal_share_last_50']:.2f}")
    print("quality bars:", results["quality_bars"])
    return results


if __name__ == "__main__":
    main()
