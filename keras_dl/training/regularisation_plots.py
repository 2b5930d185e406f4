"""The figures of apps/regularisation.py: learning curves per regime, the final errors side by
side, the ensemble against its members, and lecture 001's first-layer-only demonstration.

Each function takes the app's result records (plain dicts of per-epoch lists and final
errors, as written to `results.json`) and saves one PNG through `keras_dl.visualize`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from keras_dl import visualize

TITLES = {
    "none": "no regularisation", "l2": "weight decay (L2)", "l1": "L1 penalty",
    "noise": "input noise", "dropout": "dropout", "early_stopping": "early stopping",
    "augment": "data augmentation", "ensemble": "ensemble",
}


def plot_curves(records, key, path, ylabel, network):
    """One panel per regime: training (dashed) and validation (solid) `key` per epoch."""
    columns = min(4, len(records))
    rows = -(-len(records) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows),
                                squeeze=False, sharey=True)
    for axis in axes.ravel()[len(records):]:
        axis.axis("off")
    reference = records.get("none")
    for axis, (regime, record) in zip(axes.ravel(), records.items()):
        epochs = np.arange(1, len(record[f"train_{key}"]) + 1)
        if reference is not None and regime != "none":
            axis.plot(np.arange(1, len(reference[f"validation_{key}"]) + 1),
                      reference[f"validation_{key}"], color="0.75", lw=1,
                      label="validation, no regularisation")
        axis.plot(epochs, record[f"train_{key}"], "--", color="tab:blue", label="training")
        axis.plot(epochs, record[f"validation_{key}"], color="tab:orange", label="validation")
        if "best_epoch" in record:
            best = record["best_epoch"]
            axis.axvline(best, color="tab:red", lw=1)
            axis.plot(best, record[f"validation_{key}"][best - 1], "o", color="tab:red",
                      label=f"early-stopping point (epoch {best})")
        axis.set_title(f"{TITLES[regime]}: test error {record['final_test_error']:.3f}")
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    for axis in axes[:, 0]:
        axis.set_ylabel(ylabel)
    figure.suptitle(f"{network}: clean {ylabel} per epoch")
    visualize.save_figure(figure, path, dpi=100)


def plot_summary(records, path):
    """Final training / validation / test error of each regime, side by side."""
    names = list(records)
    positions = np.arange(len(names))
    figure, axis = plt.subplots(figsize=(1.3 * len(names) + 2, 4))
    for offset, split, color in ((-0.27, "train", "tab:blue"),
                                 (0.0, "validation", "tab:orange"),
                                 (0.27, "test", "tab:green")):
        axis.bar(positions + offset, [records[n][f"final_{split}_error"] for n in names],
                 width=0.27, color=color, label=f"{split} error")
    axis.set_xticks(positions, [TITLES[n] for n in names], rotation=25, ha="right")
    axis.set_ylabel("error (0-1 loss)")
    axis.set_title("Final errors per regime (early stopping: the restored best epoch)")
    highest = max(records[n][f"final_{s}_error"] for n in names for s in ("train", "test"))
    axis.set_ylim(0, highest * 1.25)
    axis.legend(loc="upper center", ncol=3)
    axis.grid(axis="y", alpha=0.3)
    visualize.save_figure(figure, path, dpi=110)


def plot_ensemble(record, path):
    """Members' and the ensemble's validation error per epoch, and their test errors."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for index, curve in enumerate(record["member_validation_error"]):
        left.plot(np.arange(1, len(curve) + 1), curve, color="0.6", lw=1,
                  label="members" if index == 0 else None)
    curve = record["validation_error"]
    left.plot(np.arange(1, len(curve) + 1), curve, color="tab:red", lw=2,
              label="ensemble (mean of probabilities)")
    left.set_xlabel("epoch")
    left.set_ylabel("validation error")
    left.legend()
    left.grid(alpha=0.3)
    tests = record["member_final_test_error"]
    labels = [f"member {i + 1}" for i in range(len(tests))] + ["ensemble"]
    right.bar(labels, [*tests, record["final_test_error"]],
              color=["0.6"] * len(tests) + ["tab:red"])
    right.set_ylim(min(tests + [record["final_test_error"]]) * 0.9, max(tests) * 1.05)
    right.set_ylabel("test error")
    right.tick_params(axis="x", rotation=30)
    figure.suptitle(f"Ensemble of {len(tests)} unregularised nets from different seeds")
    visualize.save_figure(figure, path, dpi=110)


def plot_first_layer(demo, path, train_size):
    """Training and test error per epoch, first layer only vs all layers trained."""
    figure, axis = plt.subplots(figsize=(7, 4.2))
    for label, color in (("first_layer_only", "tab:purple"), ("all_layers", "tab:green")):
        record = demo[label]
        epochs = np.arange(1, len(record["train_error"]) + 1)
        name = label.replace("_", " ")
        axis.plot(epochs, record["train_error"], "--", color=color, label=f"{name}: training")
        axis.plot(epochs, record["test_error"], color=color, label=f"{name}: test")
    axis.set_yscale("log")
    axis.set_xlabel("epoch")
    axis.set_ylabel("error (log scale)")
    axis.set_title(f"Lecture 001's power demo on {train_size} Fashion-MNIST examples:\n"
                   "only W1, b1 trained (upper layers random) vs every layer trained")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3, which="both")
    visualize.save_figure(figure, path, dpi=110)
