"""Datasets with two label sets, for multitask learning (lecture 002 §8.5).

A multitask dataset's labels `y` have shape (n, 2): one column per label set, named by
`info(name).label_names`, with `info(name).head_classes` classes each. A label of `UNLABELLED`
(−1) means "this example has no label of that set"; a multitask model's head then learns
nothing from it (`keras_dl.tasks.multitask`). Only multitask models train on these datasets.

- `fashion_mnist_groups`: the Fashion-MNIST images, with column 0 the fine class (0–9, as in
  `fashion_mnist`) and column 1 a coarse group (0–3) made by grouping the fine classes by
  what they are worn on or used for:

  | group | name     | fine classes                                   |
  |-------|----------|------------------------------------------------|
  | 0     | tops     | T-shirt/top, Pullover, Dress, Coat, Shirt      |
  | 1     | bottoms  | Trouser                                        |
  | 2     | footwear | Sandal, Sneaker, Ankle boot                    |
  | 3     | bags     | Bag                                            |

  The grouping is ours (Fashion-MNIST defines no coarse classes). A dress is counted as a
  top: it covers the torso and looks, at 28×28, like a long top; the groups are uneven
  (30,000 tops, 6,000 bottoms, 18,000 footwear, 6,000 bags in the training split), and the
  hard confusions of Fashion-MNIST (shirt, T-shirt, pullover, coat) all lie inside "tops".
  Every example carries both labels. Few labels of one set are made by hiding the others:
  `hide_labels`, or the dataset view `fashion_mnist_groups:per_class=100`.
"""

from __future__ import annotations

import math

import numpy as np

from keras_dl.data import sources

UNLABELLED = -1
LABEL_NAMES = ("fine", "coarse")
GROUP_NAMES = ("tops", "bottoms", "footwear", "bags")
# fine class (Fashion-MNIST's order, `sources.FASHION_MNIST_CLASSES`) → coarse group
FINE_TO_GROUP = np.array([0, 1, 0, 0, 0, 2, 0, 2, 3, 2], "int32")


def coarse_groups(fine_labels) -> np.ndarray:
    """The coarse group (0–3, `GROUP_NAMES`) of each fine Fashion-MNIST label (0–9); −1 stays
    −1 (no label)."""
    fine_labels = np.asarray(fine_labels)
    groups = FINE_TO_GROUP[np.clip(fine_labels, 0, None)]
    return np.where(fine_labels < 0, UNLABELLED, groups).astype("int32")


def _load_groups(split):
    from keras_dl.data import load_numpy  # the base's arrays, as loaded once per process

    x, fine = load_numpy("fashion_mnist", split)
    return x, np.stack([fine, coarse_groups(fine)], axis=1).astype("int32")


def hide_labels(y, column: int = 0, per_class: int = 100, seed: int = 0) -> np.ndarray:
    """A copy of two-column labels `y` in which column `column` keeps its label on
    `per_class` examples of each of its classes, drawn at random by `seed`, and is −1 on every
    other example; the other column is left as it is. (A class with fewer examples keeps them
    all.) `ValueError` for a column that `y` lacks or a `per_class` below 1."""
    y = np.asarray(y)
    if y.ndim != 2 or not 0 <= column < y.shape[1]:
        raise ValueError(f"column {column!r} is not a label column of labels of shape "
                         f"{y.shape}; allowed: 0..{y.shape[-1] - 1 if y.ndim == 2 else 0}")
    if not isinstance(per_class, int) or isinstance(per_class, bool) or per_class < 1:
        raise ValueError(f"per_class must be a positive integer, got {per_class!r}")
    rng = np.random.default_rng(seed)
    hidden = y.copy()
    keep = np.zeros(len(y), bool)
    for label in np.unique(y[:, column]):
        if label < 0:
            continue
        members = np.flatnonzero(y[:, column] == label)
        keep[rng.permutation(members)[:per_class]] = True
    hidden[~keep, column] = UNLABELLED
    return hidden


def task_batches(x, y, batch_size: int, *, heads=None, together: bool = False, seed: int = 0):
    """The batches of one epoch of multitask training, as a `tf.data.Dataset` of `(x, y)`:
    each task's batches drawn from its own examples, as from a dataset of its own.

    Task k's examples are those labelled in column k of `y`, shown with that label alone
    (the other columns −1). Each task's examples are reshuffled every epoch (by `seed` + k)
    and repeated as needed, so that every task gives S = max_k ⌈n_k / batch_size⌉ batches an
    epoch: one pass over the task with the most labelled examples, several over a task with
    few. With `together=False` the tasks' batches come in turn (task 0, task 1, ..., task 0,
    ...: the alternating rule's batches, H·S of `batch_size`); with `together=True` each
    batch joins one batch of every task (the joint rule's, S of H·`batch_size`).

    Args:
        x: examples.
        y: labels of shape (n, H), −1 where an example has no label of that column.
        batch_size: examples of each task per batch.
        heads: the columns to train (default: all); a head left out gives no batches (a
            head whose loss weight is 0).
        together: join the tasks' batches instead of taking them in turn.
        seed: the shuffles' seed.
    """
    import tensorflow as tf

    y = np.asarray(y)
    if y.ndim != 2:
        raise ValueError(f"multitask labels have one column per task, shape (n, tasks); got "
                         f"shape {y.shape}")
    heads = tuple(range(y.shape[1])) if heads is None else tuple(heads)
    streams = []
    for head in heads:
        rows = np.flatnonzero(y[:, head] != UNLABELLED)
        if not rows.size:
            raise ValueError(f"no training example has a label in column {head}; that task "
                             "cannot be trained (give more examples, or loss weight 0)")
        labels = np.full((len(rows), y.shape[1]), UNLABELLED, "int32")
        labels[:, head] = y[rows, head]
        streams.append((x[rows], labels))
    steps = max(math.ceil(len(labels) / batch_size) for _, labels in streams)
    datasets = [
        tf.data.Dataset.from_tensor_slices(stream)
        .shuffle(len(stream[1]), seed=seed + head, reshuffle_each_iteration=True)
        .repeat().batch(batch_size).take(steps)
        for head, stream in zip(heads, streams)]
    if together:
        batches = tf.data.Dataset.zip(tuple(datasets)).map(
            lambda *parts: (tf.concat([xb for xb, _ in parts], 0),
                            tf.concat([yb for _, yb in parts], 0)))
        count = steps
    else:
        turns = tf.data.Dataset.range(len(datasets)).repeat(steps)
        batches = tf.data.Dataset.choose_from_datasets(datasets, turns)
        count = steps * len(datasets)
    return batches.apply(tf.data.experimental.assert_cardinality(count)).prefetch(
        tf.data.AUTOTUNE)


def _fashion_offline():
    return sources.KNOWN["fashion_mnist"].available_offline()


DATASETS = {
    "fashion_mnist_groups": sources.DatasetInfo(
        name="fashion_mnist_groups",
        input_shape=(28, 28, 1),
        num_classes=10,
        class_names=sources.FASHION_MNIST_CLASSES,
        source="fashion_mnist with two label sets: the fine class (0–9) and a coarse group "
        "(tops, bottoms, footwear, bags; keras_dl.data.multitask)",
        how_to_get=sources.KNOWN["fashion_mnist"].how_to_get,
        _offline=_fashion_offline,
        _load=_load_groups,
        label_names=LABEL_NAMES,
        head_classes=(10, len(GROUP_NAMES)),
    ),
}

sources.KNOWN.update(DATASETS)
