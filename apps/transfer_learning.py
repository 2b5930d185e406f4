"""Transfer learning with few labels (lecture 002 §8.5): features learnt on five Fashion-MNIST
classes, reused for the other five with 1, 10, 100 and all labels per class.

Task A is `fashion_mnist:classes=0-4` (T-shirt/top, Trouser, Pullover, Dress, Coat); task B
is `fashion_mnist:classes=5-9` (Sandal, Shirt, Sneaker, Bag, Ankle boot), with
`per_class=N` training labels of each class (`keras_dl.data.views`). A LeNet-5 (modern:
ReLU, max pooling) is trained on task A; then, for each N, three networks of the same
architecture learn task B:

- head only: A's network cut after its second convolution stage (`s4`: the higher layers
  are specific to task A, Yosinski et al. 2014), a new classifier trained on its frozen
  features (`transfer`, `head_epochs` = every epoch);
- fine-tuned: the same, then everything fine-tuned, the trunk at 0.1 × the learning rate
  for the second half of the epochs;
- from scratch: the same architecture and head, untrained (`source=lenet5`).

Each is scored by its accuracy on task B's whole test split (5,000 images). With few labels
the draw of the examples matters, so every N below "all" is repeated over `--draws` draws
(the view's `seed`) and the mean is reported, each draw beside it. Every run trains for about
the same number of steps (`--steps`, batches of 16, Adam at 3e-3 cosine-annealed), within
`--min-epochs` and `--max-epochs` epochs; early stopping is off (patience = epochs) and the
weights of the best validation loss are kept.

There is no published figure for this split; Yosinski et al. (NeurIPS 2014) measure the
same effect on two halves of ImageNet's classes: features transferred from the other half,
then fine-tuned, beat training from scratch.

Writes `learning_curve.png`, `tasks.png` and `results.json` to
`apps/output/transfer_learning/`. The default run takes about 5 minutes of CPU time on 2
cores (33 training runs, most of them a few hundred examples).

    python apps/transfer_learning.py [--sizes 1,10,100,all] [--draws 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser, positive_int

matplotlib.use("Agg")

from keras_dl.quiet import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_dl import data, training, visualize  # noqa: E402

TASK_A, TASK_B = "fashion_mnist:classes=0-4", "fashion_mnist:classes=5-9"
NETWORK = {"modern": True}  # LeNet-5 with ReLU and max pooling
# where the trunk is cut: after the second convolution's pooling (16 maps of 5×5). The layers
# above (C5, F6) are specific to task A. Measured once (a logistic regression on the frozen
# features, 10 labels per class of task B): F6's 84 features (the default cut, before the
# classifier; 20 of them never fire on task B) score about 0.68, S4's 400 features about 0.86,
# F6's features of a random, untrained LeNet-5 about 0.73
CUT_LAYER = "s4"
METHODS = ("head_only", "fine_tuned", "from_scratch")
FINETUNE_RATE = 0.1
BATCH_SIZE = 16
LEARNING_RATE = 3e-3  # Adam, cosine-annealed over each run
PUBLISHED = {"source": "Yosinski, Clune, Bengio, Lipson 2014, NeurIPS ('How transferable are "
                       "features in deep neural networks?'), on two halves of ImageNet",
             "finding": "transferred then fine-tuned features beat training from scratch; no "
                        "figure for this Fashion-MNIST split"}


def sizes_list(text):
    """`1,10,100,all` → [1, 10, 100, None] (None: every label)."""
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if part == "all":
            sizes.append(None)
        elif part.isdigit() and int(part) > 0:
            sizes.append(int(part))
        else:
            raise argparse.ArgumentTypeError(f"{part!r} is not a positive integer or 'all'")
    return sizes


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=sizes_list, default=[1, 10, 100, None],
                        help="labels per class of task B, comma-separated, 'all' for every "
                             "label (default 1,10,100,all)")
    parser.add_argument("--draws", type=positive_int, default=3,
                        help="draws of the labelled examples for each size below all "
                             "(default 3)")
    parser.add_argument("--pretrain-epochs", type=positive_int, default=4,
                        help="epochs on task A (default 4)")
    parser.add_argument("--steps", type=positive_int, default=100,
                        help="training steps of each task-B run (default 100), within "
                             "--min-epochs and --max-epochs")
    parser.add_argument("--min-epochs", type=positive_int, default=2,
                        help="fewest epochs of a task-B run (default 2)")
    parser.add_argument("--max-epochs", type=positive_int, default=30,
                        help="most epochs of a task-B run (default 30)")
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="first N examples of each split (smoke runs)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: sizes 1,10, one draw, 1 pre-training epoch, 20 "
                             "steps, 600 examples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="apps/output/transfer_learning")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.draws, args.pretrain_epochs = [1, 10], 1, 1
        args.steps, args.min_epochs, args.max_epochs = 20, 2, 10
        args.limit = args.limit or 600
    return args


def view(size, draw):
    return TASK_B if size is None else f"{TASK_B},per_class={size},seed={draw}"


def epochs_for(size, args):
    """Epochs giving about `args.steps` steps on `size` labels per class (of which the
    validation split holds out about a tenth), within `args.min_epochs`..`args.max_epochs`
    (an epoch costs a validation, a checkpoint and a backup: a few hundred steps of one
    example each would cost minutes)."""
    examples = 5 * (size if size is not None else 6000)
    if args.limit:
        examples = min(examples, args.limit)
    steps_per_epoch = max(1, math.ceil(0.9 * examples / BATCH_SIZE))
    return min(args.max_epochs, max(args.min_epochs, math.ceil(args.steps / steps_per_epoch)))


def train_b(method, source_run, size, draw, args, output):
    """Test accuracy on task B of one method at one size and draw."""
    epochs = epochs_for(size, args)
    if method == "from_scratch":
        kwargs = {"source": "lenet5", "source_kwargs": NETWORK, "head_epochs": 0,
                  "finetune_rate": 1.0}
    else:
        kwargs = {"source": str(source_run),
                  "head_epochs": epochs if method == "head_only" else epochs // 2,
                  "finetune_rate": FINETUNE_RATE}
    kwargs["cut_layer"] = CUT_LAYER
    name = f"{method}_{'all' if size is None else size}_{draw}"
    result = training.train("transfer", dataset=view(size, draw), run_dir=output / "runs" / name,
                            overwrite=True, epochs=epochs, batch_size=BATCH_SIZE,
                            learning_rate=LEARNING_RATE,
                            patience=epochs, seed=args.seed + draw, limit=args.limit,
                            builder_kwargs=kwargs, verbose=0)
    return result.metrics["test_accuracy"]


def plot_curve(scores, sizes, path):
    """Mean test accuracy against labels per class, one line per method; each draw a dot."""
    figure, axis = plt.subplots(figsize=(7, 4.5))
    full = 6000  # where "all" is drawn: Fashion-MNIST's training images per class
    positions = [full if size is None else size for size in sizes]
    for method, colour in zip(METHODS, ("tab:blue", "tab:green", "tab:grey")):
        means = [scores[method][label(size)]["mean"] for size in sizes]
        axis.plot(positions, means, "o-", color=colour, label=method.replace("_", " "))
        for position, size in zip(positions, sizes):
            draws = scores[method][label(size)]["draws"]
            axis.scatter([position] * len(draws), draws, color=colour, s=10, alpha=0.4)
    axis.set_xscale("log")
    axis.set_xticks(positions, [label(size) for size in sizes])
    axis.set_xlabel("labels per class of task B (log scale)")
    axis.set_ylabel("test accuracy on task B")
    axis.set_title("Fashion-MNIST classes 5-9, LeNet-5 features from classes 0-4")
    axis.grid(alpha=0.3)
    axis.legend()
    visualize.save_figure(figure, path)


def plot_tasks(path, per_class=6):
    """A few test images of each class of the two tasks."""
    rows = []
    for task in (TASK_A, TASK_B):
        x, y = data.load_numpy(task, "test")
        rows.append((task, data.info(task).class_names,
                     [x[np.flatnonzero(y == c)[:per_class]] for c in range(5)]))
    figure, axes = plt.subplots(2, 5, figsize=(10, 3.8))
    for row, (task, names, images) in enumerate(rows):
        for column in range(5):
            shown = images[column][..., 0]  # two rows of per_class // 2 images
            half = len(shown) // 2 or 1
            tiles = np.concatenate([np.concatenate(list(shown[i:i + half]), axis=1)
                                    for i in range(0, half * (len(shown) // half), half)])
            axes[row][column].imshow(tiles, cmap="gray_r")
            axes[row][column].set_title(names[column], fontsize=9)
            axes[row][column].axis("off")
        axes[row][0].text(-0.1, 0.5, "A" if row == 0 else "B", transform=axes[row][0].transAxes,
                          fontsize=14, ha="right", va="center")
    figure.suptitle("task A: classes 0-4 (pre-training); task B: classes 5-9 (few labels)")
    visualize.save_figure(figure, path)


def label(size):
    return "all" if size is None else str(size)


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    source_run = output / "runs" / "task_a"
    pretrained = training.train("lenet5", dataset=TASK_A, run_dir=source_run, overwrite=True,
                                epochs=args.pretrain_epochs, batch_size=64, seed=args.seed,
                                limit=args.limit, builder_kwargs=dict(NETWORK), verbose=0)
    print(f"task A ({TASK_A}): test accuracy {pretrained.metrics['test_accuracy']:.4f}")
    scores = {method: {} for method in METHODS}
    for size in args.sizes:
        draws = range(1 if size is None else args.draws)
        for method in METHODS:
            accuracies = [train_b(method, source_run, size, draw, args, output)
                          for draw in draws]
            scores[method][label(size)] = {"mean": float(np.mean(accuracies)),
                                           "draws": [float(a) for a in accuracies],
                                           "epochs": epochs_for(size, args)}
        print(f"{label(size):>4} labels per class: " + ", ".join(
            f"{method} {scores[method][label(size)]['mean']:.4f}" for method in METHODS))
    plot_curve(scores, args.sizes, output / "learning_curve.png")
    plot_tasks(output / "tasks.png")
    bars = {}
    for size in (10, 100):
        if size in args.sizes:
            best = max(scores[m][str(size)]["mean"] for m in ("head_only", "fine_tuned"))
            bars[f"transfer_beats_scratch_at_{size}_per_class"] = \
                best > scores["from_scratch"][str(size)]["mean"]
    results = {
        "experiment": "lecture 002 §8.5: transfer learning from Fashion-MNIST classes 0-4 to "
                      "5-9 with few labels",
        "task_a": TASK_A, "task_b": TASK_B, "network": {"model": "lenet5", **NETWORK},
        "cut_layer": CUT_LAYER,
        "task_a_test_accuracy": pretrained.metrics["test_accuracy"],
        "seed": args.seed, "draws": args.draws, "steps": args.steps,
        "pretrain_epochs": args.pretrain_epochs, "batch_size": BATCH_SIZE,
        "finetune_rate": FINETUNE_RATE, "learning_rate": LEARNING_RATE,
        "min_epochs": args.min_epochs, "max_epochs": args.max_epochs, "limit": args.limit,
        "test_accuracy": scores,
        "published": PUBLISHED,
        "quality_bars": bars,
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    for check, passed in bars.items():
        print(f"{'PASS' if passed else 'FAIL'}  {check}")
    print(f"figures and results.json in {output}")
    return results


if __name__ == "__main__":
    main()
