"""Lecture 003's pre-training table (Bengio, Lamblin, Popovici & Larochelle, NIPS 2007), rerun.

The lecture shows, for MNIST, the train / validation / test error of

    DBN, unsupervised pre-training           0%      1.2%    1.2%
    Deep net, auto-associator pre-training   0%      1.4%    1.4%
    Deep net, supervised pre-training        0%      1.7%    2.0%
    Deep net, no pre-training                .004%   2.1%    2.4%
    Shallow net, no pre-training             .004%   1.8%    1.9%

This script trains the same five networks with the same sizes and budget through
`keras_dl.training.train` (the recipe behind `keras-dl train`): a deep net of three sigmoid
layers (500 units each by default) pre-trained greedily as RBMs (`"rbm"`), as autoencoders
(`"autoencoder"`, registered by keras_dl's autoencoder family; the row is marked pending when that
unit is not installed), with Bengio et al.'s greedy supervised pre-training (`"supervised"`), or
not at all; and a shallow net of one sigmoid layer with as many hidden units as the deep net
has in all. Every pre-trained net is then fine-tuned as a whole (`finetune="all"`) with Adam, the
same number of epochs for every row, early stopping on validation loss (best epoch restored).
It writes `apps/output/pretraining_table/errors.png` and `results.json` and prints the table
beside the published MNIST figures. Fashion-MNIST is harder than MNIST: compare the ordering of
the rows, not the numbers. About 15-25 minutes on 2 CPU cores with the defaults; `--quick`
runs in under a minute.

    python apps/pretraining_table.py [--dataset fashion_mnist|mnist] [--pretrain-epochs 3]
        [--epochs 10] [--width 500] [--rows dbn,autoencoder,supervised,none,shallow] [--quick]
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

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_dl import data, visualize  # noqa: E402
from keras_dl.training import pretraining, train  # noqa: E402

# Bengio et al. 2007 as lecture 003 shows it (MNIST; percentages)
PUBLISHED = {
    "DBN, unsupervised pre-training": (0.0, 1.2, 1.2),
    "Deep net, auto-associator pre-training": (0.0, 1.4, 1.4),
    "Deep net, supervised pre-training": (0.0, 1.7, 2.0),
    "Deep net, no pre-training": (0.004, 2.1, 2.4),
    "Shallow net, no pre-training": (0.004, 1.8, 1.9),
}
# short names for --rows
ROW_KEYS = {"dbn": "DBN, unsupervised pre-training",
            "autoencoder": "Deep net, auto-associator pre-training",
            "supervised": "Deep net, supervised pre-training",
            "none": "Deep net, no pre-training",
            "shallow": "Shallow net, no pre-training"}
# row -> (pre-training unit or None, deep?)
ROWS = {
    "DBN, unsupervised pre-training": ("rbm", True),
    "Deep net, auto-associator pre-training": ("autoencoder", True),
    "Deep net, supervised pre-training": ("supervised", True),
    "Deep net, no pre-training": (None, True),
    "Shallow net, no pre-training": (None, False),
}


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist",
                        help="fashion_mnist (offline) or mnist (tensorflow-datasets, online)")
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--width", type=int, default=500)
    parser.add_argument("--pretrain-epochs", type=int, default=3, help="per layer")
    parser.add_argument("--epochs", type=int, default=10, help="supervised (fine-tuning) epochs")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=None, help="training images to use")
    parser.add_argument("--rows", default=",".join(ROW_KEYS),
                        help=f"rows to run, from {', '.join(ROW_KEYS)}")
    parser.add_argument("--quick", action="store_true", help="a smoke run (tiny, seconds)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="apps/output/pretraining_table")
    args = parser.parse_args(argv)
    for name in ("depth", "width", "pretrain_epochs", "epochs", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, "
                         f"got {getattr(args, name)}")
    unknown = [r for r in args.rows.split(",") if r not in ROW_KEYS]
    if unknown:
        parser.error(f"unknown row {unknown[0]!r}; allowed: {', '.join(ROW_KEYS)}")
    if args.quick:
        args.depth, args.width, args.pretrain_epochs, args.epochs = 2, 16, 1, 1
        args.limit = args.limit or 300
    return args


def error(model, x, y):
    return 1.0 - float(model.evaluate(x, y, batch_size=512, verbose=0, return_dict=True)
                       ["accuracy"])


def run_row(name, unit, deep, args, output):
    hidden_units = (args.width,) * args.depth if deep else (args.width * args.depth,)
    # the supervised and autoencoder units train with Adam; RBMs with plain SGD at the DBN's
    # default pre-training rate (0.05)
    model_name = "dbn" if unit in (None, "rbm") else "mlp"
    builder_kwargs = {"hidden_units": hidden_units}
    if model_name == "mlp":
        builder_kwargs["activation"] = "sigmoid"
    result = train(
        model_name, dataset=args.dataset, run_dir=output / "runs" / name.split(",")[0]
        .replace(" ", "_").lower() / (unit or "none"), epochs=args.epochs,
        batch_size=args.batch_size, seed=args.seed, limit=args.limit, overwrite=True,
        builder_kwargs=builder_kwargs, pretrain_epochs=args.pretrain_epochs if unit else 0,
        pretraining=unit, finetune="all", patience=max(3, args.epochs // 3), verbose=0)
    x_train, y_train = data.load_numpy(args.dataset, "train", limit=args.limit)
    x_fit, y_fit, x_val, y_val = data.train_validation_split(x_train, y_train, 0.1,
                                                             seed=args.seed)
    x_test, y_test = data.load_numpy(args.dataset, "test", limit=args.limit)
    model = result.model
    return {
        "unit": unit, "model": model_name, "hidden_units": list(hidden_units),
        "train_error": error(model, x_fit, y_fit),
        "validation_error": error(model, x_val, y_val),
        "test_error": error(model, x_test, y_test),
        "epochs_run": result.metrics["epochs_run"], "best_epoch": result.metrics["best_epoch"],
        "train_seconds": result.metrics["train_seconds"],
        "published_mnist_percent": dict(zip(("train", "validation", "test"), PUBLISHED[name])),
    }


def plot(rows, path, dataset):
    names = [n for n, r in rows.items() if r.get("status") != "pending"]
    figure, axis = plt.subplots(figsize=(10, 4.8))
    positions = np.arange(len(names))
    for offset, key, colour in ((-0.2, "validation_error", "tab:orange"),
                                (0.2, "test_error", "tab:blue")):
        axis.barh(positions + offset, [100 * rows[n][key] for n in names], height=0.38,
                  color=colour, label=key.replace("_", " "))
    axis.set_yticks(positions, names)
    axis.invert_yaxis()
    axis.set_xlabel(f"error on {dataset} (%)")
    axis.set_title("Greedy layer-wise pre-training vs none (Bengio et al. 2007 protocol)")
    axis.legend()
    visualize.save_figure(figure, path, dpi=110)


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    units = pretraining.list_units()
    rows = {}
    chosen = {ROW_KEYS[r] for r in args.rows.split(",")}
    for name, (unit, deep) in ROWS.items():
        if name not in chosen:
            continue
        if unit is not None and unit not in units:
            rows[name] = {"unit": unit, "status": "pending",
                          "reason": f"pre-training unit {unit!r} is not registered yet"}
            continue
        rows[name] = run_row(name, unit, deep, args, output)
    plot(rows, output / "errors.png", args.dataset)
    results = {
        "experiment": "Bengio et al. 2007 pre-training table (lecture 003)",
        "dataset": args.dataset, "quick": args.quick,
        "settings": {k: getattr(args, k) for k in ("depth", "width", "pretrain_epochs",
                                                   "epochs", "batch_size", "limit", "seed")},
        "fine_tuning": "Adam 1e-3, cosine schedule, early stopping on validation loss "
                       "(best epoch restored); pre-training per layer: rbm SGD 0.05 CD-1 on "
                       "hidden probabilities, supervised Adam 0.01",
        "rows": rows,
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'':40} | {args.dataset + ' train/valid/test %':>26} | published MNIST %")
    for name, row in rows.items():
        published = "/".join(f"{v:g}" for v in PUBLISHED[name])
        if row.get("status") == "pending":
            print(f"{name:40} | {'pending (' + row['unit'] + ')':>26} | {published}")
            continue
        ours = "/".join(f"{100 * row[k]:.2f}" for k in ("train_error", "validation_error",
                                                        "test_error"))
        print(f"{name:40} | {ours:>26} | {published}")
    print(f"figure and results.json in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
