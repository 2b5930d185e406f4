"""Where each named dataset comes from: offline sources first, tensorflow-datasets online.

Each source returns numpy arrays `(x, y)`: images as float32 in [0, 1] with a channel axis,
sequences as float32, labels as int32.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import socket
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from keras_dl.data.idx import read_idx

SPLITS = ("train", "test")

# Debian's package `dataset-fashion-mnist` installs the four IDX files here; Keras'
# `keras.datasets.fashion_mnist` caches the same files under ~/.keras/datasets/fashion-mnist.
FASHION_MNIST_DIRS = (
    Path("/usr/share/datasets/fashion-mnist"),
    Path.home() / ".keras" / "datasets" / "fashion-mnist",
)
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

# Where tensorflow-datasets downloads from; checked with a short timeout before a download is
# attempted, because tfds itself retries for minutes when offline.
TFDS_HOST = ("storage.googleapis.com", 443)
ONLINE_TIMEOUT_SECONDS = 3.0


class DatasetUnavailableError(RuntimeError):
    """A known dataset that is neither on disk nor reachable; the message says how to get it."""


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a named dataset.

    Attributes:
        name: the name (tensorflow-datasets' name where tfds has the dataset).
        input_shape: shape of one example.
        num_classes: number of label classes (0 for an image-to-image dataset).
        class_names: the classes' names, in label order.
        source: where the data comes from, for a person to read.
        how_to_get: what to do when it is not available.
        target_shape: shape of one target, for a dataset whose targets are images
            (`keras_dl.data.image_pairs`); None where the targets are class labels.
        domain_shift: the training split mixes labelled source examples with target
            examples whose labels are hidden (−1), and the test split is the labelled target
            domain (`keras_dl.data.domain_shift`).
        label_names: the names of the label sets, for a dataset whose examples carry several
            (`y` of shape (n, len(label_names)), one column per label set, −1 where an
            example has no label of that set: `keras_dl.data.multitask`); None for one.
        head_classes: the number of classes of each label set, in `label_names`' order
            (`num_classes` is the first's); None for one label set.
        class_splits: for a few-shot dataset (`keras_dl.data.few_shot`), the labels of the
            classes that training episodes draw from ("train"), that validation episodes draw
            from ("validation"; both in the training split) and that are held out for testing
            ("test"; the test split): `{"train": (...), "validation": (...), "test": (...)}`.
            None for a dataset whose splits share their classes.
        modality: "text" where the examples `x` are strings (and, for a translation
            dataset, whose `num_classes` is 0, the targets `y` too: `keras_dl.data.text`,
            `keras_dl.data.translation`); "array" for numbers (images, signals, sequences).
        splits: the split names `load` accepts for this dataset.
        corpus: the examples are unlabelled documents (`y` is 0), for learning word vectors
            (`keras_dl.data.text`: `wiki_sample`, `lee_background`).
    """

    name: str
    input_shape: tuple
    num_classes: int
    class_names: tuple
    source: str
    how_to_get: str
    _offline: Callable[[], bool] = dataclasses.field(repr=False, compare=False)
    _load: Callable[[str], tuple] = dataclasses.field(repr=False, compare=False)
    target_shape: tuple | None = None
    domain_shift: bool = False
    label_names: tuple | None = None
    head_classes: tuple | None = None
    class_splits: dict | None = dataclasses.field(default=None, compare=False)
    modality: str = "array"
    splits: tuple = SPLITS
    corpus: bool = False

    def available_offline(self) -> bool:
        """True when the data is on this machine and loads without a network."""
        return self._offline()


def is_online(host=TFDS_HOST, timeout=ONLINE_TIMEOUT_SECONDS) -> bool:
    """True when `host` accepts a TCP connection within `timeout` seconds (DNS included)."""
    outcome = []

    def attempt():
        try:
            socket.create_connection(host, timeout=timeout).close()
            outcome.append(True)
        except OSError:
            outcome.append(False)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout + 0.5)  # a hung DNS lookup cannot hold us past the timeout
    return bool(outcome and outcome[0])


# --- digits: scikit-learn's bundled 8×8 handwritten digits ------------------------------------

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0


def _load_digits(split):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]  # pixel values are 0..16
    y = digits.target.astype("int32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=DIGITS_TEST_FRACTION, stratify=y, random_state=DIGITS_SPLIT_SEED
    )
    return (x_train, y_train) if split == "train" else (x_test, y_test)


# --- fashion_mnist: the Debian package's IDX files, else tensorflow-datasets -------------------


def fashion_mnist_dir() -> Path | None:
    """The first directory holding all four Fashion-MNIST IDX files, or None."""
    extra = os.environ.get("KERAS_DL_FASHION_MNIST_DIR")
    for directory in ([Path(extra)] if extra else []) + list(FASHION_MNIST_DIRS):
        files = [name for pair in FASHION_MNIST_FILES.values() for name in pair]
        if all((directory / name).is_file() for name in files):
            return directory
    return None


def _load_fashion_mnist(split):
    directory = fashion_mnist_dir()
    if directory is None:
        return _load_tfds("fashion_mnist", split)
    images_file, labels_file = FASHION_MNIST_FILES[split]
    images = read_idx(directory / images_file)
    labels = read_idx(directory / labels_file)
    check_idx_pair(images, labels, directory / images_file, directory / labels_file,
                   image_shape=(28, 28), num_classes=len(FASHION_MNIST_CLASSES))
    return (images.astype("float32") / 255.0)[..., None], labels.astype("int32")


def check_idx_pair(images, labels, images_file, labels_file, *, image_shape, num_classes):
    """`ValueError` naming the file when IDX `images` are not `(n, *image_shape)`, `labels`
    not `n` labels, or a label lies outside `0..num_classes - 1` (a file from another
    dataset, or a corrupt one, would otherwise train on wrong or out-of-range classes)."""
    if images.ndim != 1 + len(image_shape) or images.shape[1:] != tuple(image_shape):
        raise ValueError(f"{images_file} holds images of shape {images.shape[1:]}, not "
                         f"{tuple(image_shape)}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"{labels_file} holds labels of shape {labels.shape}, but "
                         f"{images_file} holds {len(images)} images: one label each")
    outside = labels[(labels < 0) | (labels >= num_classes)]
    if outside.size:
        raise ValueError(f"{labels_file} holds label {int(outside[0])}; labels are 0.."
                         f"{num_classes - 1}")


# --- mnist1d: generated by the mnist1d package (Greydanus 2020), never downloaded --------------


@functools.lru_cache(maxsize=1)
def _mnist1d_data():
    """The generated dataset, once per process: generating it takes seconds, and its train and
    test splits (and `mnist1d_sequence`'s) come from the same call."""
    from mnist1d.data import get_dataset_args, make_dataset

    return make_dataset(get_dataset_args())  # the published defaults: 4000 train, 1000 test


def _load_mnist1d(split):
    data = _mnist1d_data()
    if split == "train":
        return data["x"].astype("float32"), data["y"].astype("int32")
    return data["x_test"].astype("float32"), data["y_test"].astype("int32")


# --- sequence views: the same examples read as sequences -----------------------------------


def _load_sequential_fashion_mnist(split):
    """Fashion-MNIST as sequences: each image's 28 rows, top to bottom, as 28 time steps of 28
    pixels (the row-by-row reading of sequential MNIST; Le, Jaitly & Hinton 2015 read it pixel
    by pixel). The same images, labels and split as `fashion_mnist`."""
    x, y = _load_fashion_mnist(split)
    return x[..., 0], y


def _load_mnist1d_sequence(split):
    """mnist1d's 40-point signals as sequences of 40 time steps of 1 value."""
    x, y = _load_mnist1d(split)
    return x[..., None], y


# --- any other tensorflow-datasets name ------------------------------------------------------


def _tfds_builder(name):
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(
            f"unknown dataset {name!r}; known: {', '.join(KNOWN)}, or any tensorflow-datasets "
            "name (see https://www.tensorflow.org/datasets/catalog)"
        ) from None


def _tfds_prepared(name) -> bool:
    try:
        builder = _tfds_builder(name)
    except ValueError:
        return False
    return Path(builder.data_dir, "dataset_info.json").is_file()


def _load_tfds(name, split):
    import tensorflow_datasets as tfds

    builder = _tfds_builder(name)
    if not Path(builder.data_dir, "dataset_info.json").is_file():
        if not is_online():
            raise DatasetUnavailableError(
                f"dataset {name!r} is not on this machine and tensorflow-datasets cannot be "
                f"reached ({TFDS_HOST[0]}): {_how_to_get(name)}"
            )
        builder.download_and_prepare()
    dataset = builder.as_dataset(split=split, as_supervised=True)
    x, y = zip(*tfds.as_numpy(dataset)) if len(dataset) else ((), ())
    x = np.stack(x)
    if x.dtype.kind in "SO":  # a text feature (imdb_reviews, ...): UTF-8 bytes, read as str
        return np.char.decode(x.astype(bytes), "utf-8"), np.asarray(y, dtype="int32")
    if x.dtype == np.uint8:
        x = x.astype("float32") / 255.0
    return x.astype("float32"), np.asarray(y, dtype="int32")


def _how_to_get(name):
    if name in KNOWN:
        return KNOWN[name].how_to_get
    return "connect to the internet once so tensorflow-datasets can download it"


def tfds_info(name) -> DatasetInfo:
    """`DatasetInfo` for a tensorflow-datasets name that keras_dl has no offline source for."""
    builder = _tfds_builder(name)
    features = builder.info.features
    keys = builder.info.supervised_keys
    if not keys:
        raise ValueError(f"dataset {name!r} has no (input, label) pair; keras_dl needs one")
    label = features[keys[1]]
    import tensorflow_datasets as tfds

    text = isinstance(features[keys[0]], tfds.features.Text)
    return DatasetInfo(
        name=name,
        input_shape=tuple(features[keys[0]].shape),
        num_classes=int(label.num_classes),
        class_names=tuple(label.names),
        source="tensorflow-datasets",
        how_to_get=_how_to_get(name),
        _offline=lambda: _tfds_prepared(name),
        _load=lambda split: _load_tfds(name, split),
        modality="text" if text else "array",
    )


KNOWN: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        name="digits",
        input_shape=(8, 8, 1),
        num_classes=10,
        class_names=tuple(str(d) for d in range(10)),
        source="scikit-learn's bundled 8×8 digits (1,797 images; stratified 80/20 split, seed 0)",
        how_to_get="install scikit-learn",
        _offline=lambda: True,
        _load=_load_digits,
    ),
    "fashion_mnist": DatasetInfo(
        name="fashion_mnist",
        input_shape=(28, 28, 1),
        num_classes=10,
        class_names=FASHION_MNIST_CLASSES,
        source="IDX files of Debian's dataset-fashion-mnist (or ~/.keras/datasets/fashion-mnist, "
        "or $KERAS_DL_FASHION_MNIST_DIR); tensorflow-datasets when online",
        how_to_get="install Debian's package (apt-get install dataset-fashion-mnist), put the four "
        "IDX .gz files in $KERAS_DL_FASHION_MNIST_DIR, or connect to the internet",
        _offline=lambda: fashion_mnist_dir() is not None or _tfds_prepared("fashion_mnist"),
        _load=_load_fashion_mnist,
    ),
    "mnist1d": DatasetInfo(
        name="mnist1d",
        input_shape=(40,),
        num_classes=10,
        class_names=tuple(str(d) for d in range(10)),
        source="generated by the mnist1d package's make_dataset (Greydanus 2020; 4,000 train, "
        "1,000 test)",
        how_to_get="pip install mnist1d",
        _offline=lambda: True,
        _load=_load_mnist1d,
    ),
    "mnist1d_sequence": DatasetInfo(
        name="mnist1d_sequence",
        input_shape=(40, 1),
        num_classes=10,
        class_names=tuple(str(d) for d in range(10)),
        source="mnist1d read as sequences: 40 time steps of 1 value (the same examples and split)",
        how_to_get="pip install mnist1d",
        _offline=lambda: True,
        _load=_load_mnist1d_sequence,
    ),
    "sequential_fashion_mnist": DatasetInfo(
        name="sequential_fashion_mnist",
        input_shape=(28, 28),
        num_classes=10,
        class_names=FASHION_MNIST_CLASSES,
        source="fashion_mnist read as sequences: each image's 28 rows as 28 time steps of 28 "
        "pixels (the same images and split)",
        how_to_get="as for fashion_mnist: apt-get install dataset-fashion-mnist, the four IDX "
        ".gz files in $KERAS_DL_FASHION_MNIST_DIR, or the internet",
        _offline=lambda: fashion_mnist_dir() is not None or _tfds_prepared("fashion_mnist"),
        _load=_load_sequential_fashion_mnist,
    ),
}
