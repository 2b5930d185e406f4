"""Named datasets as `tf.data` pipelines.

```python
train = keras_dl.data.load("fashion_mnist", "train", batch_size=128)
x_test, y_test = keras_dl.data.load_numpy("fashion_mnist", "test")
```

Names follow tensorflow-datasets. `digits`, `fashion_mnist` (from Debian's
`dataset-fashion-mnist`) and `mnist1d` always work offline; any other tensorflow-datasets name
works once downloaded, and downloads when online. The image-to-image datasets
`fashion_mnist_edges` and `fashion_mnist_inpainting` (`keras_dl.data.image_pairs`) give
`(inputs, targets)` pairs of images instead of `(images, labels)`. The text datasets
`pang_lee_polarity` (`keras_dl.data.text`, which also loads gensim's corpora and evaluation
sets) and `dates_to_iso` (`keras_dl.data.translation`) give strings (`info(name).modality`).
A dataset that is neither on disk nor reachable raises `DatasetUnavailableError` within
seconds, saying how to get it. A class-split view of any classification dataset,
`BASE:classes=5-9,per_class=10,seed=0` (`keras_dl.data.views`), works wherever a name does.
"""

from __future__ import annotations

import functools

import numpy as np

from keras_dl.data.sources import (
    KNOWN,
    SPLITS,
    DatasetInfo,
    DatasetUnavailableError,
    tfds_info,
)
from keras_dl.data import image_pairs  # noqa: F401  (registers the image-to-image datasets)
from keras_dl.data import domain_shift  # noqa: F401  (registers the domain-shift datasets)
from keras_dl.data import few_shot  # noqa: F401  (registers the few-shot datasets)
from keras_dl.data import multitask  # noqa: F401  (registers the two-label-set datasets)
from keras_dl.data import text  # noqa: F401  (registers pang_lee_polarity; corpora, eval sets)
from keras_dl.data import translation  # noqa: F401  (registers dates_to_iso)
from keras_dl.data import views

__all__ = [
    "DatasetInfo",
    "DatasetUnavailableError",
    "check_examples",
    "info",
    "list_datasets",
    "load",
    "load_numpy",
    "train_validation_split",
]


def list_datasets() -> list[str]:
    """The datasets keras_dl knows by name (any tensorflow-datasets name also works online)."""
    return sorted(KNOWN)


def info(name: str) -> DatasetInfo:
    """Shape, classes and source of a named dataset; `ValueError` if the name is unknown."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"dataset name must be a non-empty string, got {name!r}")
    if views.is_view(name):  # BASE:classes=...,per_class=... (keras_dl.data.views)
        return views.view_info(name, info)
    return KNOWN[name] if name in KNOWN else tfds_info(name)


@functools.lru_cache(maxsize=8)
def _cached_arrays(name, split):
    x, y = info(name)._load(split)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def load_numpy(name: str, split: str = "train", limit: int | None = None):
    """`(x, y)` numpy arrays of a split (images float32 in [0, 1], labels int32; for an
    image-to-image dataset, whose `info(name).target_shape` is set, `y` holds the target
    images, float32 in [0, 1]; for a text dataset, `info(name).modality == "text"`, `x`
    holds str, and so does `y` for a translation dataset)."""
    allowed = SPLITS if split in SPLITS else info(name).splits  # dates_to_iso has validation
    if split not in allowed:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(allowed)}")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
    x, y = _cached_arrays(name, split)
    return (x[:limit], y[:limit]) if limit else (x, y)


def check_examples(x, y=None, text: bool = False) -> None:
    """`ValueError` naming what is wrong with numpy examples `x` and their labels or targets
    `y` (None: none): no examples, a label count other than one per example, a non-numeric
    dtype, or NaN / infinite values (which would train to a NaN loss without an error).
    With `text` (a text dataset's), arrays of str pass too. Arrays of another kind (tensors)
    pass unchecked."""
    for name, array in (("x", x), ("y", y)):
        if not isinstance(array, np.ndarray):
            continue
        if not array.size:
            raise ValueError(f"{name} holds no examples (shape {array.shape}); give at least one")
        if text and array.dtype.kind == "U":
            continue
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise ValueError(f"{name} has dtype {array.dtype}; examples and labels are numbers")
        if np.issubdtype(array.dtype, np.inexact) and not np.isfinite(array).all():
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise ValueError(f"{name} holds {array[index]} at index {index}; examples and "
                             "labels are finite numbers")
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and len(x) != len(y):
        raise ValueError(f"x holds {len(x)} examples but y holds {len(y)}; give one label "
                         "(or target) per example")


def train_validation_split(x, y, validation_fraction: float, seed: int = 0,
                           dataset: str | None = None):
    """Hold out a stratified-by-shuffle `validation_fraction` of `(x, y)`: returns 4 arrays.
    For the training split of a `per_class` view named by `dataset`, the hold-out is taken
    from each class's few examples (`keras_dl.data.views.validation_split`)."""
    if dataset is not None and views.is_view(dataset) and views.parse(dataset).per_class:
        return views.validation_split(dataset, x, y, validation_fraction, seed=seed)
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction!r}")
    check_examples(x, y, text=dataset is not None and info(dataset).modality == "text")
    n_val = max(1, int(round(len(x) * validation_fraction)))
    if n_val >= len(x):
        raise ValueError(f"validation_fraction {validation_fraction!r} of {len(x)} example(s) "
                         "leaves none to train on; give more examples or a smaller fraction")
    order = np.random.default_rng(seed).permutation(len(x))
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


def to_dataset(x, y, batch_size: int = 32, shuffle: bool = False, seed: int = 0,
               augment=None, text: bool = False):
    """A batched, prefetched `tf.data.Dataset` of `(x, y)` (of `x` alone when `y` is None).

    With `shuffle`, the order is reshuffled every epoch from `seed`. `augment`, a callable on
    a batch of inputs (a Keras preprocessing model, say), is applied after batching.
    """
    import tensorflow as tf

    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    check_examples(x, y, text=text)
    dataset = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = augment_batches(dataset.batch(batch_size), augment, labelled=y is not None)
    return dataset.prefetch(tf.data.AUTOTUNE)


def augment_batches(dataset, augment, labelled: bool = True):
    """`dataset` of batches with `augment(batch, training=True)` applied to the inputs.

    `augment` is a callable on a batch of inputs (`keras_dl.data.augment.build_augmentation`'s
    model, say) or None (the dataset is returned as it is); with `labelled`, the elements are
    `(x, y)` and the labels pass through untouched.
    """

    if augment is None:
        return dataset
    # One batch at a time: the augmentation layers draw from one seed-generator state, and
    # parallel calls would take their draws in whatever order the threads run (two runs with
    # one seed would then differ; tests/test_determinism.py).
    if labelled:
        return dataset.map(lambda xb, yb: (augment(xb, training=True), yb))
    return dataset.map(lambda xb: augment(xb, training=True))


def load(name: str, split: str = "train", batch_size: int = 32, shuffle: bool | None = None,
         seed: int = 0, limit: int | None = None):
    """A split of a named dataset as a batched `tf.data.Dataset` of `(x, y)`.

    The arrays are held in memory (the cache); the training split is shuffled every epoch
    unless `shuffle=False`; batches are prefetched.
    """
    x, y = load_numpy(name, split, limit=limit)
    return to_dataset(x, y, batch_size=batch_size,
                      shuffle=(split == "train") if shuffle is None else shuffle, seed=seed,
                      text=info(name).modality == "text")
