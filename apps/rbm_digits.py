"""Lecture 003's RBM demo and homework, on the 8×8 digits and on Fashion-MNIST.

The demo ("RBM for handwritten digits"): an RBM's weights shown as a grid of images, samples
from a Gibbs chain, and reconstructions. The homework: train an RBM on some classes only
(0-4), reconstruct images of the classes it never saw (5-9) and compare the reconstruction
error on seen and unseen classes.

For each dataset this script trains two Bernoulli RBMs with CD-1 and SGD (grey levels in [0, 1]
are read as probabilities): one on every class (filters, chains, reconstructions) and one on
classes 0-4 only (the homework), and writes to `apps/output/rbm_digits/`:
`DATASET_filters.png`, `DATASET_gibbs_chain.png` (one row per chain, columns at growing step
counts), `DATASET_reconstructions.png` (test images above their mean-field reconstructions),
`DATASET_seen_vs_unseen.png` (reconstruction error per class) and `results.json`. About 3-4
minutes on 2 CPU cores; `--quick` runs in seconds.

    python apps/rbm_digits.py [--datasets digits,fashion_mnist] [--quick] [--output DIR]
"""

from __future__ import annotations

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
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_dl import data, visualize  # noqa: E402
from keras_dl.layers import RBM  # noqa: E402

# per dataset: hidden units, epochs, batch size, SGD learning rate
SETTINGS = {
    "digits": {"units": 64, "epochs": 60, "batch_size": 20, "learning_rate": 0.1},
    "fashion_mnist": {"units": 256, "epochs": 5, "batch_size": 64, "learning_rate": 0.1},
    "mnist": {"units": 256, "epochs": 5, "batch_size": 64, "learning_rate": 0.1},
}
SEEN, UNSEEN = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
CHAIN_STEPS = (0, 1, 10, 100, 1000)


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,fashion_mnist",
                        help=f"comma-separated, from {', '.join(SETTINGS)}")
    parser.add_argument("--quick", action="store_true", help="a smoke run (seconds)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="apps/output/rbm_digits")
    args = parser.parse_args(argv)
    unknown = [d for d in args.datasets.split(",") if d not in SETTINGS]
    if unknown:
        parser.error(f"unknown dataset {unknown[0]!r}; allowed: {', '.join(SETTINGS)}")
    return args


def train_rbm(x, settings, seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((x.shape[1],))
    layer = RBM(settings["units"], seed=seed, name="rbm")
    model = keras.Model(inputs, layer(inputs))
    model.compile(keras.optimizers.SGD(settings["learning_rate"]), steps_per_execution=32)
    start = time.perf_counter()
    history = model.fit(x, epochs=settings["epochs"], batch_size=settings["batch_size"],
                        shuffle=True, verbose=0).history
    return layer, history, time.perf_counter() - start


def per_class_error(layer, x, y):
    errors = np.mean((x - np.asarray(layer.reconstruct(x))) ** 2, axis=1)
    return {int(c): float(errors[y == c].mean()) for c in np.unique(y)}


def gibbs_chain(layer, start, steps=CHAIN_STEPS):
    """Visible probabilities along one chain per start image, at the given step counts."""
    frames, v, done = [], np.asarray(start, "float32"), 0
    for step in steps:
        if step > done:
            v = np.asarray(layer.gibbs(v, steps=step - done))
            done = step
        frames.append(np.asarray(layer.visible_probabilities(layer.sample_hidden(v)))
                      if step else v)
    return frames


def plot_chain(frames, shape, path, dataset):
    rows, columns = len(frames[0]), len(frames)
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.6 * rows + 0.6),
                                squeeze=False)
    for c, (step, frame) in enumerate(zip(CHAIN_STEPS, frames)):
        for r in range(rows):
            axis = axes[r, c]
            axis.imshow(frame[r].reshape(shape), cmap="gray", vmin=0, vmax=1)
            axis.set_xticks([])
            axis.set_yticks([])
            if r == 0:
                axis.set_title("test image" if step == 0 else f"step {step}")
            if c == 0:
                axis.set_ylabel(f"chain {r + 1}")
    figure.suptitle(f"{dataset}: Gibbs chains from test images\n(shown: P(v | h) at each step)")
    visualize.save_figure(figure, path, dpi=100)


def plot_reconstructions(x, reconstruction, shape, path, dataset):
    count = len(x)
    figure, axes = plt.subplots(2, count, figsize=(1.4 * count, 3.4), squeeze=False)
    for i in range(count):
        for row, images in enumerate((x, reconstruction)):
            axes[row, i].imshow(images[i].reshape(shape), cmap="gray", vmin=0, vmax=1)
            axes[row, i].set_xticks([])
            axes[row, i].set_yticks([])
    axes[0, 0].set_ylabel("original")
    axes[1, 0].set_ylabel("reconstruction")
    figure.suptitle(f"{dataset}: test images and their mean-field reconstructions "
                    "P(v | Q(h | v))")
    visualize.save_figure(figure, path, dpi=100)


def plot_seen_unseen(errors, path, dataset):
    classes = sorted(errors)
    figure, axis = plt.subplots(figsize=(8, 4.2))
    colours = ["tab:blue" if c in SEEN else "tab:orange" for c in classes]
    axis.bar([str(c) for c in classes], [errors[c] for c in classes], color=colours)
    axis.set_xlabel("class (blue: seen in training, 0-4; orange: unseen, 5-9)")
    axis.set_ylabel("test reconstruction MSE")
    axis.set_title(f"{dataset}: RBM trained on classes 0-4, reconstructing every class")
    visualize.save_figure(figure, path, dpi=110)


def run_dataset(dataset, args, output):
    settings = dict(SETTINGS[dataset])
    limit = None
    if args.quick:
        settings["epochs"], limit = 1, 300
    x_train, y_train = data.load_numpy(dataset, "train", limit=limit)
    x_test, y_test = data.load_numpy(dataset, "test", limit=limit)
    shape = x_train.shape[1:3]
    x_train = x_train.reshape(len(x_train), -1)
    x_test = x_test.reshape(len(x_test), -1)

    # the demo: an RBM on every class
    layer, history, seconds = train_rbm(x_train, settings, args.seed)
    visualize.save_image_grid(
        visualize.kernel_images(np.asarray(layer.kernel), shape), output / f"{dataset}_filters.png",
        title=f"{dataset}: the RBM's {settings['units']} filters (one hidden unit's weights "
              "per tile)")
    rng = np.random.default_rng(args.seed)
    starts = x_test[rng.choice(len(x_test), 6, replace=False)]
    steps = CHAIN_STEPS if not args.quick else (0, 1, 10)
    plot_chain(gibbs_chain(layer, starts, steps), shape, output / f"{dataset}_gibbs_chain.png",
               dataset)
    shown = x_test[:10]
    plot_reconstructions(shown, np.asarray(layer.reconstruct(shown)), shape,
                         output / f"{dataset}_reconstructions.png", dataset)
    all_classes = per_class_error(layer, x_test, y_test)

    # the homework: train on classes 0-4, reconstruct all ten
    seen_train = np.isin(y_train, SEEN)
    homework, homework_history, homework_seconds = train_rbm(x_train[seen_train], settings,
                                                             args.seed)
    errors = per_class_error(homework, x_test, y_test)
    plot_seen_unseen(errors, output / f"{dataset}_seen_vs_unseen.png", dataset)
    seen = np.isin(y_test, SEEN)
    overall = np.mean((x_test - np.asarray(homework.reconstruct(x_test))) ** 2, axis=1)
    return {
        "settings": settings,
        "train_examples": int(len(x_train)),
        "all_classes_rbm": {
            "train_seconds": round(seconds, 2),
            "final_reconstruction_error": float(history["reconstruction_error"][-1]),
            "final_pseudo_log_likelihood": float(history["pseudo_log_likelihood"][-1]),
            "test_reconstruction_mse": float(np.mean(list(all_classes.values()))),
        },
        "seen_vs_unseen": {
            "train_classes": list(SEEN),
            "train_examples": int(seen_train.sum()),
            "train_seconds": round(homework_seconds, 2),
            "seen_test_mse": float(overall[seen].mean()),
            "unseen_test_mse": float(overall[~seen].mean()),
            "unseen_over_seen": float(overall[~seen].mean() / overall[seen].mean()),
            "per_class_test_mse": errors,
            "all_classes_rbm_per_class_test_mse": all_classes,
        },
    }


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    results = {"experiment": "lecture 003 RBM demo and seen/unseen-classes homework",
               "quick": args.quick, "seed": args.seed, "datasets": {}}
    for dataset in args.datasets.split(","):
        results["datasets"][dataset] = run_dataset(dataset, args, output)
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'dataset':14} | seen (0-4) MSE | unseen (5-9) MSE | ratio | all-class RBM MSE")
    for dataset, row in results["datasets"].items():
        homework = row["seen_vs_unseen"]
        print(f"{dataset:14} | {homework['seen_test_mse']:14.4f} | "
              f"{homework['unseen_test_mse']:16.4f} | {homework['unseen_over_seen']:5.2f} | "
              f"{row['all_classes_rbm']['test_reconstruction_mse']:.4f}")
    print(f"figures and results.json in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
