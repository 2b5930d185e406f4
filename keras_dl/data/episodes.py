"""Episodes for few-shot learning (Vinyals et al. 2016; Snell et al. 2017, Algorithm 1).

An N-way K-shot episode with Q queries per class draws N distinct classes from a pool, then
K + Q distinct examples of each: the first K of a class are its support set, the other Q its
queries. Within an episode the classes are renumbered 0..N−1, in the random order drawn.

```python
train = episodes(x, y, classes=info.class_splits["train"], ways=20, shots=5, queries=5,
                 count=100, seed=0)
(inputs, query_labels) = next(iter(train))
inputs["support"].shape        # (20 * 5, 28, 28, 1), class by class
inputs["support_onehot"].shape # (100, 20): one row per support example
inputs["query"].shape          # (20 * 5, 28, 28, 1), class by class
```

The draws are stateless (`tf.random.stateless_uniform`), one seed per episode from
`tf.data.Dataset.random(seed)`: the same seed gives the same episodes in any process. With
`reshuffle=True` every pass over the dataset (every epoch) draws new episodes; otherwise every
pass repeats the same ones (validation and test episodes).
"""

from __future__ import annotations

import numpy as np

FILL = 2.0  # added to the random keys of padding positions: they sort after every real example


def check_episode(labels, classes, ways: int, shots: int, queries: int, what: str = "classes"
                  ) -> np.ndarray:
    """The labels in `classes` that `labels` holds examples of, as an array; `ValueError` in
    one line when `ways`, `shots` or `queries` is no positive integer, when `ways` exceeds the
    classes, or when `shots + queries` exceeds the examples of the poorest class."""
    for name, value in (("ways", ways), ("shots", shots), ("queries", queries)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    labels = np.asarray(labels)
    present = np.array([c for c in classes if np.any(labels == c)], dtype="int64")
    if ways > len(present):
        raise ValueError(f"ways {ways} exceeds the {len(present)} {what} available; allowed: "
                         f"1..{len(present)}")
    poorest = min(int(np.sum(labels == c)) for c in present)
    if shots + queries > poorest:
        raise ValueError(f"shots {shots} + queries {queries} = {shots + queries} exceeds the "
                         f"{poorest} examples of the poorest of the {what}; allowed: shots + "
                         f"queries ≤ {poorest}")
    return present


def class_table(labels, classes) -> tuple[np.ndarray, np.ndarray]:
    """`(table, counts)`: row i of `table` lists the indices of the examples of `classes[i]`
    (padded with 0 to the longest row), `counts[i]` how many there are."""
    labels = np.asarray(labels)
    rows = [np.flatnonzero(labels == c) for c in classes]
    counts = np.array([len(row) for row in rows], dtype="int32")
    table = np.zeros((len(rows), int(counts.max())), dtype="int64")
    for i, row in enumerate(rows):
        table[i, :len(row)] = row
    return table, counts


def episode_indices(labels, classes, *, ways: int, shots: int, queries: int, count: int,
                    seed: int = 0, reshuffle: bool = False, what: str = "classes"):
    """A `tf.data.Dataset` of `count` episodes as indices into `labels`: each element is
    `(indices, episode_classes)`, `indices` of shape (ways, shots + queries) (row i: the
    examples of the episode's class i, support first), `episode_classes` the original labels
    of its ways, in order. See the module docstring."""
    import tensorflow as tf

    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"episodes must be a positive integer, got {count!r}")
    present = check_episode(labels, classes, ways, shots, queries, what)
    table, counts = class_table(labels, present)
    pool = len(present)
    table, counts, present = tf.constant(table), tf.constant(counts), tf.constant(present)
    per_class = shots + queries
    positions = tf.range(tf.shape(table)[1])

    def draw(episode_seed):
        seeds = tf.random.experimental.stateless_split(
            tf.stack([episode_seed, tf.constant(seed, "int64")]), 2)
        chosen = tf.argsort(tf.random.stateless_uniform([pool], seeds[0]))[:ways]
        rows = tf.gather(table, chosen)
        keys = tf.random.stateless_uniform(tf.shape(rows), seeds[1])
        keys += FILL * tf.cast(positions[None, :] >= tf.gather(counts, chosen)[:, None],
                               keys.dtype)
        picks = tf.argsort(keys, axis=1)[:, :per_class]
        return tf.gather(rows, picks, batch_dims=1), tf.gather(present, chosen)

    stream = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=reshuffle)
    return stream.take(count).map(draw)


def episodes(x, y, classes, *, ways: int, shots: int, queries: int, count: int, seed: int = 0,
             reshuffle: bool = False, what: str = "classes"):
    """A `tf.data.Dataset` of `count` episodes of images `x` (labels `y`), drawn from `classes`:
    elements `({"support", "support_onehot", "query"}, query_labels)` as a prototypical
    network's training model takes them (see the module docstring); prefetched."""
    import tensorflow as tf

    images = tf.constant(np.asarray(x, dtype="float32"))
    support_labels = np.repeat(np.arange(ways), shots)
    onehot = tf.constant(np.eye(ways, dtype="float32")[support_labels])
    query_labels = tf.constant(np.repeat(np.arange(ways), queries).astype("int32"))
    shape = tuple(np.shape(x)[1:])

    def gather(indices, _):
        support = tf.reshape(tf.gather(images, indices[:, :shots]), (ways * shots, *shape))
        query = tf.reshape(tf.gather(images, indices[:, shots:]), (ways * queries, *shape))
        return {"support": support, "support_onehot": onehot, "query": query}, query_labels

    return (episode_indices(y, classes, ways=ways, shots=shots, queries=queries, count=count,
                            seed=seed, reshuffle=reshuffle, what=what)
            .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .prefetch(tf.data.AUTOTUNE))
