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
Closer to the paper's protocol than one run can be:

- `--seeds 0,1,2` repeats every row per seed (a new initialisation, pre-training and validation
  split each time) and reports each error as mean ± standard deviation over the seeds;
- `--lr-grid 3e-4,1e-3,3e-3` selects each row's fine-tuning learning rate on the validation set
  (the paper chose its hyperparameters per row on validation error): every rate is tried with
  the first seed, and the rate with the lowest validation error is used for the other seeds;
- `--epochs` sets the fine-tuning budget (the paper trained to convergence).

It then compares every pair of rows with the published test ordering: a pair *holds* when our
means are in the published order and the gap exceeds the two rows' standard deviations added
together, is *reversed* when the gap points the other way by as much, and is *within spread*
otherwise. It writes `apps/output/pretraining_table/errors.png` and `results.json` and prints
the table beside the published MNIST figures. Fashion-MNIST is harder than MNIST: compare the
ordering of the rows, not the numbers. About 7 minutes per seed on 2 CPU cores with the
defaults; `--quick` runs in under a minute.

    python apps/pretraining_table.py [--dataset fashion_mnist|mnist] [--pretrain-epochs 3]
        [--epochs 10] [--width 500] [--rows dbn,autoencoder,supervised,none,shallow]
        [--seeds 0,1,2] [--lr-grid 1e-3,3e-3] [--quick]
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
SHORT = {name: key for key, name in ROW_KEYS.items()}
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
    parser.add_argument("--seeds", default="0",
                        help="comma-separated seeds; each row runs once per seed (default: 0)")
    parser.add_argument("--lr-grid", default="1e-3",
                        help="comma-separated fine-tuning learning rates; with more than one, "
                             "each row uses the one with the lowest validation error on the "
                             "first seed (default: 1e-3)")
    parser.add_argument("--output", default="apps/output/pretraining_table")
    args = parser.parse_args(argv)
    for name in ("depth", "width", "pretrain_epochs", "epochs", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, "
                         f"got {getattr(args, name)}")
    unknown = [r for r in args.rows.split(",") if r not in ROW_KEYS]
    if unknown:
        parser.error(f"unknown row {unknown[0]!r}; allowed: {', '.join(ROW_KEYS)}")
    args.seeds = _number_list(parser, "--seeds", args.seeds, int, "non-negative integers",
                              lambda v: v >= 0)
    args.lr_grid = _number_list(parser, "--lr-grid", args.lr_grid, float,
                                "positive finite numbers", lambda v: 0 < v < float("inf"))
    if args.quick:
        args.depth, args.width, args.pretrain_epochs, args.epochs = 2, 16, 1, 1
        args.limit = args.limit or 300
    return args


def _number_list(parser, flag, text, kind, allowed, valid):
    """`"0,1,2"` -> [0, 1, 2]; one usage error naming the bad item otherwise."""
    values = []
    for item in text.split(","):
        try:
            value = kind(item)
        except ValueError:
            value = None
        if value is None or not valid(value) or value in values:
            parser.error(f"{flag}: bad item {item!r} in {text!r}; allowed: a comma-separated "
                         f"list of distinct {allowed}")
        values.append(value)
    return values


def error(model, x, y):
    return 1.0 - float(model.evaluate(x, y, batch_size=512, verbose=0, return_dict=True)
                       ["accuracy"])


def run_row(name, unit, deep, args, output, *, seed, learning_rate):
    hidden_units = (args.width,) * args.depth if deep else (args.width * args.depth,)
    # the supervised and autoencoder units train with Adam; RBMs with plain SGD at the DBN's
    # default pre-training rate (0.05)
    model_name = "dbn" if unit in (None, "rbm") else "mlp"
    builder_kwargs = {"hidden_units": hidden_units}
    if model_name == "mlp":
        builder_kwargs["activation"] = "sigmoid"
    run_dir = (output / "runs" / name.split(",")[0].replace(" ", "_").lower() / (unit or "none")
               / f"seed{seed}-lr{learning_rate:g}")
    result = train(
        model_name, dataset=args.dataset, run_dir=run_dir, epochs=args.epochs,
        learning_rate=learning_rate, batch_size=args.batch_size, seed=seed, limit=args.limit,
        overwrite=True,
        builder_kwargs=builder_kwargs, pretrain_epochs=args.pretrain_epochs if unit else 0,
        pretraining=unit, finetune="all", patience=max(3, args.epochs // 3), verbose=0)
    x_train, y_train = data.load_numpy(args.dataset, "train", limit=args.limit)
    x_fit, y_fit, x_val, y_val = data.train_validation_split(x_train, y_train, 0.1, seed=seed)
    x_test, y_test = data.load_numpy(args.dataset, "test", limit=args.limit)
    model = result.model
    return {
        "unit": unit, "model": model_name, "hidden_units": list(hidden_units), "seed": seed,
        "learning_rate": learning_rate, "train_error": error(model, x_fit, y_fit),
        "validation_error": error(model, x_val, y_val),
        "test_error": error(model, x_test, y_test),
        "epochs_run": result.metrics["epochs_run"], "best_epoch": result.metrics["best_epoch"],
        "train_seconds": result.metrics["train_seconds"],
    }


ERRORS = ("train_error", "validation_error", "test_error")


def run_seeds(name, unit, deep, args, output):
    """One row: the fine-tuning rate chosen on the first seed's validation error, then every
    other seed at that rate; mean and standard deviation of each error over the seeds."""
    first, *others = args.seeds
    tried = {lr: run_row(name, unit, deep, args, output, seed=first, learning_rate=lr)
             for lr in args.lr_grid}
    chosen = min(tried, key=lambda lr: tried[lr]["validation_error"])
    runs = [tried[chosen]] + [run_row(name, unit, deep, args, output, seed=seed,
                                      learning_rate=chosen) for seed in others]
    row = {"unit": unit, "model": runs[0]["model"], "hidden_units": runs[0]["hidden_units"],
           "learning_rate": chosen,
           "selection": {f"{lr:g}": tried[lr]["validation_error"] for lr in args.lr_grid},
           "runs": runs,
           "published_mnist_percent": dict(zip(("train", "validation", "test"),
                                               PUBLISHED[name]))}
    for key in ERRORS:
        values = np.array([run[key] for run in runs])
        row[key] = float(values.mean())
        row[key + "_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return row


def ordering(rows):
    """Every pair of measured rows, in the published test ordering (better row first): "holds"
    when our mean test errors are in that order with a gap larger than the two standard
    deviations added together, "reversed" when the gap points the other way by as much,
    "within spread" otherwise (with one seed every nonzero gap counts as separated)."""
    names = sorted((n for n, r in rows.items() if r.get("status") != "pending"),
                   key=lambda n: PUBLISHED[n][2])
    pairs = []
    for i, better in enumerate(names):
        for worse in names[i + 1:]:
            if PUBLISHED[better][2] == PUBLISHED[worse][2]:
                continue
            gap = rows[worse]["test_error"] - rows[better]["test_error"]
            spread = rows[worse]["test_error_std"] + rows[better]["test_error_std"]
            verdict = ("holds" if gap > spread else "reversed" if -gap > spread
                       else "within spread")
            pairs.append({"better": better, "worse": worse,
                          "published_gap_percent": round(PUBLISHED[worse][2]
                                                         - PUBLISHED[better][2], 3),
                          "gap_percent": 100 * gap, "spread_percent": 100 * spread,
                          "verdict": verdict})
    return pairs


def plot(rows, path, dataset):
    names = [n for n, r in rows.items() if r.get("status") != "pending"]
    figure, axis = plt.subplots(figsize=(10, 4.8))
    positions = np.arange(len(names))
    for offset, key, colour in ((-0.2, "validation_error", "tab:orange"),
                                (0.2, "test_error", "tab:blue")):
        axis.barh(positions + offset, [100 * rows[n][key] for n in names], height=0.38,
                  xerr=[100 * rows[n][key + "_std"] for n in names], capsize=3,
                  color=colour, label=key.replace("_", " "))
    axis.set_yticks(positions, names)
    axis.invert_yaxis()
    axis.set_xlabel(f"error on {dataset} (%), mean ± std over seeds")
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
        rows[name] = run_seeds(name, unit, deep, args, output)
    pairs = ordering(rows)
    plot(rows, output / "errors.png", args.dataset)
    results = {
        "experiment": "Bengio et al. 2007 pre-training table (lecture 003)",
        "dataset": args.dataset, "quick": args.quick,
        "settings": {k: getattr(args, k) for k in ("depth", "width", "pretrain_epochs",
                                                   "epochs", "batch_size", "limit", "seeds",
                                                   "lr_grid")},
        "fine_tuning": "Adam at the row's selected rate (selection on the first seed's "
                       "validation error), cosine schedule, early stopping on validation loss "
                       "(best epoch restored); pre-training per layer: rbm SGD 0.05 CD-1 on "
                       "hidden probabilities, supervised Adam 0.01",
        "rows": rows,
        "ordering": pairs,
        "ordering_summary": {verdict: sum(p["verdict"] == verdict for p in pairs)
                             for verdict in ("holds", "within spread", "reversed")},
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    seeds = len(args.seeds)
    print(f"{'':40} | {args.dataset + ' train/valid/test %':>26} | "
          f"{'test %, ' + str(seeds) + ' seed(s)':>16} | lr     | published MNIST %")
    for name, row in rows.items():
        published = "/".join(f"{v:g}" for v in PUBLISHED[name])
        if row.get("status") == "pending":
            print(f"{name:40} | {'pending (' + row['unit'] + ')':>26} | {'':16} | {'':6} | "
                  f"{published}")
            continue
        ours = "/".join(f"{100 * row[k]:.2f}" for k in ERRORS)
        test = f"{100 * row['test_error']:.2f} ± {100 * row['test_error_std']:.2f}"
        print(f"{name:40} | {ours:>26} | {test:>16} | {row['learning_rate']:<6g} | "
              f"{published}")
    print("published test ordering, pair by pair (gap = worse - better, ours):")
    for pair in pairs:
        print(f"  {SHORT[pair['better']]:>11} < {SHORT[pair['worse']]:<11} "
              f"published gap {pair['published_gap_percent']:4.1f}  ours "
              f"{pair['gap_percent']:+6.2f} ± {pair['spread_percent']:.2f}  {pair['verdict']}")
    print(f"figure and results.json in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
