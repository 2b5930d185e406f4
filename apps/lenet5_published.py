"""LeNet-5 as published, trained beside its modern variant, next to lecture 003's MNIST table.

Lecture 003 (Kulvicius, "Comparison of Classifiers on MNIST Dataset", a slide of Yann LeCun's)
lists MNIST test errors from 1.60 % (a 2-layer net of 800 hidden units) down to 0.80 % for
LeNet-5. This app trains, on the same split, for the same epochs and from the same seed:

- `lenet5_published`: `lenet5(modern=False)`, LeCun et al. 1998's network (scaled tanh
  1.7159 tanh(2a/3), trainable sub-sampling, C3's connection table; a softmax output in place
  of the RBF layer: 60,850 parameters);
- `lenet5_modern`: `lenet5(modern=True)` (ReLU, max pooling, full C3: 61,706 parameters);
- `mlp_300`: a 784-300-10 tanh network, the 1998 paper's "2-layer NN, 300 hidden units";
- with `--svm N`: scikit-learn's SVC with a Gaussian kernel on the first N training images.

and writes to `--output` `results.json`, `results.md` (the lecture's table, then ours) and
`learning_curves.png` (validation error per epoch of each network).

The default dataset is Fashion-MNIST (offline, from Debian's dataset-fashion-mnist):
Fashion-MNIST is NOT MNIST, its errors are several times MNIST's, so the published column is
context, not a target. `--dataset mnist` reproduces the table on MNIST itself; it needs
tensorflow-datasets' copy (internet once) and stops at once, in one line, when that is missing.

How long, on 2 CPU cores (54,000 training images): about 2 minutes for `--epochs 5`, about
5 minutes for the default 12 epochs with `--svm 10000`; `--quick` (1 epoch on 1,000 images)
takes seconds and its errors mean nothing.

    python apps/lenet5_published.py --epochs 5
    python apps/lenet5_published.py --dataset mnist --epochs 12 --svm 10000
    python apps/lenet5_published.py --quick
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

import matplotlib.pyplot as plt  # noqa: E402

from keras_dl import data, training, visualize  # noqa: E402

LECTURE = "lecture 003 (Kulvicius), slide 'Comparison of Classifiers on MNIST Dataset'"
# (classifier, MNIST test error %, source) as the lecture's slide gives them
LECTURE_TABLE = (
    ("2-layer NN, 800 HU, CE", 1.60, LECTURE),
    ("3-layer NN, 500+300 HU, CE, reg", 1.53, LECTURE),
    ("SVM, Gaussian Kernel", 1.40, LECTURE),
    ("Unsupervised Stacked RBM + backprop", 0.95, LECTURE),
    ("Convolutional net LeNet-5", 0.80, LECTURE),
    ("Convolutional net LeNet-6", 0.70, LECTURE),
    ("Conv. net LeNet-6 + unsup learning", 0.60, LECTURE),
)
PAPER = "LeCun, Bottou, Bengio & Haffner 1998, Fig. 9"
# the 1998 paper's own figures for the two networks we train as it did (no distortions)
PAPER_ROWS = (
    ("2-layer NN, 300 HU (1998)", 4.7, PAPER),
    ("LeNet-5, no distortions (1998)", 0.95, PAPER),
)
# what we train -> (builder, builder kwargs, the published row it answers)
VARIANTS = {
    "lenet5_published": ("lenet5", {"modern": False}, "LeNet-5, no distortions (1998)"),
    "lenet5_modern": ("lenet5", {"modern": True}, "LeNet-5, no distortions (1998)"),
    "mlp_300": ("mlp", {"hidden_units": (300,), "activation": "tanh"},
                "2-layer NN, 300 HU (1998)"),
}
DATASETS = ("fashion_mnist", "mnist")
DEFAULT_EPOCHS = 12  # lenet5's registered epochs, for every network
BATCH_SIZE = 128
QUICK = {"epochs": 1, "limit": 1000}


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist",
                        help=f"one of: {', '.join(DATASETS)} (default fashion_mnist, offline)")
    parser.add_argument("--epochs", type=int, help=f"epochs per network (default {DEFAULT_EPOCHS})")
    parser.add_argument("--limit", type=int, help="use only the first N train and test images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--svm", type=int, default=0, metavar="N",
                        help="also fit an RBF-kernel SVC on the first N training images "
                             "(default 0: no SVM)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 epoch on 1,000 images (seconds; errors mean nothing)")
    parser.add_argument("--output", default="apps/output/lenet5_published")
    args = parser.parse_args(argv)
    if args.dataset not in DATASETS:
        parser.error(f"--dataset: unknown dataset {args.dataset!r}; allowed: {', '.join(DATASETS)}")
    for name in ("epochs", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be a positive integer, got {value}")
    if args.svm < 0:
        parser.error(f"--svm must be 0 (no SVM) or a positive number of images, got {args.svm}")
    if args.quick:
        args.epochs = args.epochs or QUICK["epochs"]
        args.limit = args.limit or QUICK["limit"]
    args.epochs = args.epochs or DEFAULT_EPOCHS
    return args


def check_available(dataset):
    """None when `dataset` loads here, else the one line saying why not and how to get it."""
    try:
        data.load_numpy(dataset, "test", limit=1)
    except data.DatasetUnavailableError as error:
        return str(error).splitlines()[0]
    return None


def train_variant(name, args, output):
    """Train one of `VARIANTS`; its row of results.json (errors as fractions)."""
    model_name, kwargs, published = VARIANTS[name]
    result = training.train(
        model_name, dataset=args.dataset, run_dir=output / "runs" / name, overwrite=True,
        epochs=args.epochs, batch_size=BATCH_SIZE, limit=args.limit, seed=args.seed,
        builder_kwargs=dict(kwargs), verbose=2,
    )
    return {
        "variant": name,
        "model": model_name,
        "builder_kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
        "parameters": result.model.count_params(),
        "test_error": 1.0 - result.metrics["test_accuracy"],
        "epochs_run": result.metrics["epochs_run"],
        "train_seconds": result.metrics["train_seconds"],
        "published_row": published,
        "val_error_per_epoch": [1.0 - row["val_accuracy"] for row in result.history],
        "train_error_per_epoch": [1.0 - row["accuracy"] for row in result.history],
    }


def fit_svm(args):
    """An RBF-kernel SVC (scikit-learn defaults: C=1, gamma='scale') on the first `args.svm`
    training images, tested on the test split (cut to `--limit`)."""
    from sklearn.svm import SVC

    x_train, y_train = data.load_numpy(args.dataset, "train", limit=args.svm)
    x_test, y_test = data.load_numpy(args.dataset, "test", limit=args.limit)
    started = time.perf_counter()
    classifier = SVC(kernel="rbf").fit(x_train.reshape(len(x_train), -1), y_train)
    accuracy = classifier.score(x_test.reshape(len(x_test), -1), y_test)
    return {"variant": f"svm_rbf_{len(x_train)}", "model": "sklearn SVC(kernel='rbf')",
            "train_images": len(x_train), "test_error": 1.0 - float(accuracy),
            "train_seconds": round(time.perf_counter() - started, 3),
            "published_row": "SVM, Gaussian Kernel"}


def plot_curves(rows, dataset, path):
    figure, axis = plt.subplots(figsize=(6.5, 4))
    for row in rows:
        if "val_error_per_epoch" not in row:
            continue
        epochs = range(1, len(row["val_error_per_epoch"]) + 1)
        line, = axis.plot(epochs, [100 * e for e in row["val_error_per_epoch"]], marker="o",
                          label=f"{row['variant']} (validation)")
        axis.plot(epochs, [100 * e for e in row["train_error_per_epoch"]], linestyle="--",
                  color=line.get_color(), label=f"{row['variant']} (training)")
    axis.set_xlabel("epoch")
    axis.set_ylabel("error (%)")
    axis.set_title(f"LeNet-5 as published vs modern on {dataset}")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    visualize.save_figure(figure, path)


def markdown_table(rows, dataset):
    """The lecture's table (and the 1998 paper's rows) on MNIST, then our test errors."""
    lines = [f"| classifier | MNIST test error % (published) | our test error % on {dataset} |",
             "|---|---:|---:|"]
    ours = {}
    for row in rows:
        ours.setdefault(row["published_row"], []).append(row)
    for classifier, error, _source in LECTURE_TABLE + PAPER_ROWS:
        measured = ", ".join(f"{r['variant']} {100 * r['test_error']:.2f}"
                             for r in ours.get(classifier, []))
        lines.append(f"| {classifier} | {error:.2f} | {measured or '-'} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    unavailable = check_available(args.dataset)
    if unavailable:
        print(f"lenet5_published: error: {unavailable}", file=sys.stderr)
        return 2
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)

    rows = [train_variant(name, args, output) for name in VARIANTS]
    if args.svm:
        rows.append(fit_svm(args))
    plot_curves(rows, args.dataset, output / "learning_curves.png")
    table = markdown_table(rows, args.dataset)

    print()
    print(table)
    if args.dataset != "mnist":
        print("Fashion-MNIST is not MNIST: the published column is MNIST's, for context.")
    results = {
        "experiment": "LeNet-5 as published (modern=False) vs modern, beside lecture 003's "
                      "MNIST table",
        "dataset": args.dataset,
        "epochs": args.epochs, "limit": args.limit, "seed": args.seed, "batch_size": BATCH_SIZE,
        "rows": rows,
        "published_mnist": [{"classifier": c, "test_error_percent": e, "source": s}
                            for c, e, s in LECTURE_TABLE + PAPER_ROWS],
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (output / "results.md").write_text(table)
    print(f"results.json, results.md and learning_curves.png in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
