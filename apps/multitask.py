"""Multitask learning (lecture 002 §8.5) when one task has few labels: does a second task with
many labels help?

The fine task is Fashion-MNIST's 10 classes with 100 labels per class; the coarse task is the
4 groups of those classes (tops, bottoms, footwear, bags: `keras_dl.data.multitask`), labelled
on all 60,000 training images (`fashion_mnist_groups:per_class=100`). The same network, an MLP
trunk with two softmax heads (`multitask`), is trained three ways:

- single task: the fine head alone (loss weights 1 and 0), on the 1,000 fine labels;
- joint: every step minimises fine loss + coarse loss, on one batch of each task;
- alternating: every step backpropagates from one head, the tasks' batches in turn (the
  lecture's "backpropagation comes from one head at a time, mixing data and tasks").

Each run holds out 10 % of the fine labels (10 per class) and of the other examples for
validation, stops early on the fine head's validation accuracy and is scored on the 10,000
test images: the fine accuracy, the coarse head's accuracy, and how many fine predictions land
in the wrong coarse group (the errors the coarse task should teach the trunk to avoid).

Writes `accuracy.png`, `validation.png`, `per_class.png` and `results.json` to
`apps/output/multitask/`. The default run (one seed) takes about 3 minutes on 2 busy CPU
cores; `--seeds 0 1 2` averages three.

    python apps/multitask.py [--epochs 3] [--single-epochs 100] [--per-class 100] [--seeds 0]
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser, positive_float, positive_int

matplotlib.use("Agg")

from keras_dl.quiet import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_dl import data, training, visualize  # noqa: E402
from keras_dl.training import preparation  # noqa: E402
from keras_dl.data.multitask import FINE_TO_GROUP, GROUP_NAMES  # noqa: E402
from keras_dl.data.sources import FASHION_MNIST_CLASSES  # noqa: E402

RULES = {  # builder arguments of each way of training the same network
    "single_task": {"loss_weights": [1.0, 0.0], "mode": "joint"},
    "joint": {"loss_weights": [1.0, 1.0], "mode": "joint"},
    "alternating": {"loss_weights": [1.0, 1.0], "mode": "alternating"},
}


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=3,
                        help="epochs of the multitask runs (an epoch: one pass over the coarse "
                        "labels, many over the fine ones; default 3)")
    parser.add_argument("--single-epochs", type=positive_int, default=100,
                        help="epochs of the single-task run (an epoch: one pass over its fine "
                        "labels; default 100, early stopping ends it sooner)")
    parser.add_argument("--patience", type=positive_int, default=10,
                        help="early-stopping patience of the single-task run, in epochs")
    parser.add_argument("--per-class", type=positive_int, default=100,
                        help="fine labels per class (default 100)")
    parser.add_argument("--hidden", type=positive_int, default=256,
                        help="width of the MLP trunk's hidden layer (default 256)")
    parser.add_argument("--lr", type=positive_float, default=1e-3)
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="first N training and test examples only (smoke runs)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--output", default="apps/output/multitask")
    return parser.parse_args(argv)


def train_rule(rule, args, seed, output):
    """One run of the network trained by `rule`: its `TrainResult`."""
    single = rule == "single_task"
    return training.train(
        "multitask", dataset=f"fashion_mnist_groups:per_class={args.per_class}",
        run_dir=output / f"run_{rule}_seed{seed}", overwrite=True,
        epochs=args.single_epochs if single else args.epochs,
        patience=args.patience if single else args.epochs, monitor="val_accuracy",
        batch_size=args.batch_size, learning_rate=args.lr, limit=args.limit, seed=seed,
        builder_kwargs={"trunk": "mlp", "trunk_kwargs": {"hidden_units": [args.hidden]},
                        **RULES[rule]}, verbose=0)


def scores(model, x_test, y_test):
    """Test scores of a trained network: fine accuracy (overall and per class), the coarse
    head's accuracy, and the share of test images whose fine prediction lies in another
    coarse group than the image's."""
    fine, coarse = model.predict(x_test, verbose=0, batch_size=512)
    fine_predicted = fine.argmax(axis=1)
    per_class = [float(np.mean(fine_predicted[y_test[:, 0] == c] == c)) for c in range(10)]
    return {
        "fine_accuracy": float(np.mean(fine_predicted == y_test[:, 0])),
        "coarse_head_accuracy": float(np.mean(coarse.argmax(axis=1) == y_test[:, 1])),
        "fine_errors_across_groups": float(np.mean(FINE_TO_GROUP[fine_predicted]
                                                   != y_test[:, 1])),
        "fine_accuracy_per_class": per_class,
    }


def fine_head_batches(result):
    """`(fine labels trained on, the fine head's training batches at the end of each epoch)`:
    an epoch gives the fine head as many batches as the largest task trained needs for one
    pass over its labels (`keras_dl.data.multitask.task_batches`)."""
    run = preparation.load_data(result.config, test=False)  # the run's own training examples
    fine = int(np.sum(run.y_fit[:, 0] >= 0))
    single = result.config["builder_kwargs"]["loss_weights"][1] == 0
    per_epoch = np.ceil((fine if single else len(run.y_fit)) / result.config["batch_size"])
    return fine, per_epoch * (np.arange(len(result.history)) + 1)


def plot_accuracy(summary, path):
    rules = list(RULES)
    figure, axis = plt.subplots(figsize=(7, 4))
    for offset, (key, label) in enumerate((("fine_accuracy", "fine classes"),
                                           ("fine_errors_across_groups",
                                            "fine errors across groups"))):
        means = [summary[rule][key]["mean"] for rule in rules]
        spreads = [summary[rule][key]["std"] for rule in rules]
        bars = axis.bar(np.arange(len(rules)) + 0.38 * offset, means, 0.36, yerr=spreads,
                        label=label, capsize=3)
        axis.bar_label(bars, fmt="%.3f", fontsize=8)
    axis.set_xticks(np.arange(len(rules)) + 0.19, [r.replace("_", " ") for r in rules])
    axis.set_ylabel("share of the 10,000 test images")
    axis.set_title("Fashion-MNIST, 100 fine labels per class (+ all coarse labels)")
    axis.legend(fontsize=8)
    visualize.save_figure(figure, path)


def plot_validation(curves, path):
    figure, axis = plt.subplots(figsize=(7, 4))
    for rule, (steps, accuracy) in curves.items():
        axis.plot(steps, accuracy, marker="o", markersize=3, label=rule.replace("_", " "))
    axis.set_xscale("log")
    axis.set_xlabel("batches the fine head has trained on")
    axis.set_ylabel("validation accuracy, fine classes")
    axis.legend()
    visualize.save_figure(figure, path)


def plot_per_class(summary, path):
    figure, axis = plt.subplots(figsize=(10, 4))
    for offset, rule in enumerate(RULES):
        axis.bar(np.arange(10) + 0.27 * offset, summary[rule]["fine_accuracy_per_class"], 0.26,
                 label=rule.replace("_", " "))
    names = [f"{name}\n({GROUP_NAMES[FINE_TO_GROUP[c]]})"
             for c, name in enumerate(FASHION_MNIST_CLASSES)]
    axis.set_xticks(np.arange(10) + 0.27, names, fontsize=7)
    axis.set_ylabel("test accuracy")
    axis.legend(fontsize=8)
    visualize.save_figure(figure, path)


def summarise(runs):
    """Mean and standard deviation over the seeds of each rule's scores."""
    summary = {}
    for rule, per_seed in runs.items():
        summary[rule] = {key: {"mean": float(np.mean([s[key] for s in per_seed])),
                               "std": float(np.std([s[key] for s in per_seed]))}
                         for key in ("fine_accuracy", "coarse_head_accuracy",
                                     "fine_errors_across_groups")}
        summary[rule]["fine_accuracy_per_class"] = np.mean(
            [s["fine_accuracy_per_class"] for s in per_seed], axis=0).tolist()
    return summary


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    x_test, y_test = data.load_numpy("fashion_mnist_groups", "test", limit=args.limit)
    runs = {rule: [] for rule in RULES}
    curves = {}
    for seed in args.seeds:
        for rule in RULES:
            result = train_rule(rule, args, seed, output)
            score = scores(result.model, x_test, y_test)
            fine_labels, batches = fine_head_batches(result)
            score.update(seed=seed, **RULES[rule], epochs_run=result.metrics["epochs_run"],
                         best_epoch=result.metrics["best_epoch"],
                         train_seconds=result.metrics["train_seconds"],
                         fine_labels_trained_on=fine_labels,
                         train_examples=result.metrics["train_examples"])
            runs[rule].append(score)
            print(f"seed {seed} {rule}: fine {score['fine_accuracy']:.4f}, coarse head "
                  f"{score['coarse_head_accuracy']:.4f}, fine errors across groups "
                  f"{score['fine_errors_across_groups']:.4f} ({score['epochs_run']} epochs, "
                  f"{score['train_seconds']:.0f} s)")
            if seed == args.seeds[0]:
                curves[rule] = (batches, [row["val_fine_accuracy"] for row in result.history])
    summary = summarise(runs)
    plot_accuracy(summary, output / "accuracy.png")
    plot_validation(curves, output / "validation.png")
    plot_per_class(summary, output / "per_class.png")
    single = summary["single_task"]["fine_accuracy"]["mean"]
    gains = {rule: summary[rule]["fine_accuracy"]["mean"] - single
             for rule in ("joint", "alternating")}
    results = {
        "experiment": "lecture 002 §8.5: multitask learning, few fine labels helped by "
                      "coarse ones",
        "dataset": f"fashion_mnist_groups:per_class={args.per_class}",
        "settings": {key: value for key, value in vars(args).items() if key != "output"},
        "runs": runs,
        "summary": summary,
        "fine_accuracy_gain_over_single_task": gains,
        "quality_bars": {f"{rule}_beats_single_task_on_fine_classes": gain > 0
                         for rule, gain in gains.items()},
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    for check, passed in results["quality_bars"].items():
        print(f"{'PASS' if passed else 'FAIL'}  {check}")
    print(f"figures and results.json in {output}")
    return results


if __name__ == "__main__":
    main()
