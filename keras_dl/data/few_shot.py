"""Few-shot datasets: many classes, split *by class* into classes to learn from and classes held
out, so that a model is tested on classes it never saw (Vinyals et al. 2016; Snell et al. 2017).

A few-shot dataset's training split holds the examples of its training and validation classes,
its test split those of its held-out classes; labels are unique across both splits.
`info(name).class_splits` says which labels are which. Only episodic models (prototypical
networks: `keras_dl.tasks.episodic`) train on them, through episodes
(`keras_dl.data.episodes`).

- `fewshot_rotations` (offline): made the way Snell et al. made Omniglot's classes, by treating
  each rotation of a class by a multiple of 90° as a class of its own. Its base classes are the
  10 Fashion-MNIST classes and the 10 digits of scikit-learn's 8×8 digits (upsampled to 28×28
  by bilinear interpolation, so both sources share one shape): 20 base classes × 4 rotations =
  80 classes. The base classes are split in three (`BASE_SPLITS`), and all four rotations of a
  base class go to the same part, so no held-out class shares a base class with a training
  class: per source 6 base classes train (24 classes), 1 validates (4) and 3 are held out (12);
  in all 48 training, 8 validation and 24 held-out classes. The digits 6 and 9 are both held
  out, because a 6 turned by 180° is a 9. Each base class contributes its first
  `EXAMPLES_PER_BASE_CLASS` images (Fashion-MNIST's training images; all of the ~180 digits of
  a class), each in its four rotations. Class `4 · b + r` (plus 40 for the digits) is base
  class b turned r quarter-turns anticlockwise. The examples are ordered round-robin over the
  classes, so any prefix (`limit=N`) holds every class of its split.
- `omniglot` (online): tensorflow-datasets' Omniglot with the paper's background/evaluation
  split (Lake et al. 2015): the 964 characters of the background alphabets are the classes to
  learn from (the last `OMNIGLOT_VALIDATION_CHARACTERS` of them validate), the 659 of the
  evaluation alphabets are held out, each character in four rotations (Snell et al.'s
  augmentation): 3,856 + 2,636 classes of 20 images, resized to 28×28 grey levels as Vinyals
  et al. did. Offline it fails within seconds, saying how to get it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_dl.data import sources

ROTATIONS = 4
EXAMPLES_PER_BASE_CLASS = 200
IMAGE_SIZE = (28, 28)
# base classes of each source: (training, validation, held out)
BASE_SPLITS = {
    "fashion_mnist": ((0, 2, 3, 4, 7, 8), (6,), (1, 5, 9)),
    "digits": ((0, 1, 2, 3, 4, 5), (8,), (6, 7, 9)),
}
SOURCES = ("fashion_mnist", "digits")
OMNIGLOT_VALIDATION_CHARACTERS = 64
PARTS = ("train", "validation", "test")


def rotated_class(base: int, rotation: int, source_index: int = 0, base_classes: int = 10) -> int:
    """The label of base class `base` turned `rotation` quarter-turns, in source
    `source_index` (each source holding `base_classes` base classes)."""
    return (source_index * base_classes + base) * ROTATIONS + rotation


def rotations(images: np.ndarray) -> list[np.ndarray]:
    """`images` (n, h, w, c) turned by 0°, 90°, 180° and 270° anticlockwise (square images)."""
    return [np.rot90(images, k, axes=(1, 2)) for k in range(ROTATIONS)]


def round_robin(groups: list[np.ndarray]) -> np.ndarray:
    """The indices of `groups` (index arrays, one per class) interleaved: the first of every
    group, then the second of every group still holding one, and so on."""
    longest = max(len(group) for group in groups)
    order = [group[i] for i in range(longest) for group in groups if i < len(group)]
    return np.asarray(order, dtype="int64")


def _resize(images, size=IMAGE_SIZE):
    import tensorflow as tf

    if images.shape[1:3] == tuple(size):
        return images.astype("float32")
    resized = tf.image.resize(images, size, method="bilinear").numpy()
    return np.clip(resized, 0.0, 1.0).astype("float32")


def _base_images(source):
    """`{base class: images (n, 28, 28, 1)}` of one source (training and test images pooled,
    since the few-shot split is by class)."""
    from keras_dl import data  # the package imports this module: the cached loader, late

    x_train, y_train = data.load_numpy(source, "train")
    x_test, y_test = data.load_numpy(source, "test")
    x, y = np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])
    return {int(base): _resize(x[y == base][:EXAMPLES_PER_BASE_CLASS]) for base in np.unique(y)}


def class_splits_of_rotations() -> dict:
    """`{"train": labels, "validation": labels, "test": labels}` of `fewshot_rotations`."""
    splits = {part: [] for part in PARTS}
    for source_index, source in enumerate(SOURCES):
        for part, bases in zip(PARTS, BASE_SPLITS[source]):
            splits[part] += [rotated_class(base, r, source_index) for base in bases
                             for r in range(ROTATIONS)]
    return {part: tuple(sorted(labels)) for part, labels in splits.items()}


def _load_rotations(split):
    """The examples of the training and validation classes (split "train") or of the held-out
    classes (split "test"), round-robin over the classes."""
    wanted = (("train", "validation") if split == "train" else ("test",))
    images, labels = [], []
    for source_index, source in enumerate(SOURCES):
        base_images = _base_images(source)
        for part, bases in zip(PARTS, BASE_SPLITS[source]):
            if part not in wanted:
                continue
            for base in bases:
                for rotation, turned in enumerate(rotations(base_images[base])):
                    images.append(np.ascontiguousarray(turned))
                    labels.append(np.full(len(turned), rotated_class(base, rotation,
                                                                     source_index), "int32"))
    x, y = np.concatenate(images), np.concatenate(labels)
    starts = np.cumsum([0] + [len(group) for group in labels[:-1]])
    order = round_robin([start + np.arange(len(group)) for start, group in zip(starts, labels)])
    return x[order], y[order]


def _rotation_class_names():
    names = []
    for source, base_names in (("fashion_mnist", sources.FASHION_MNIST_CLASSES),
                               ("digits", tuple(str(d) for d in range(10)))):
        names += [f"{name} {90 * r}°" for name in base_names for r in range(ROTATIONS)]
    return tuple(names)


# === Omniglot (tensorflow-datasets) =============================================================

OMNIGLOT_BACKGROUND_CHARACTERS = 964
OMNIGLOT_CHARACTERS = 1623


def omniglot_class_splits() -> dict:
    """Omniglot's classes: character c turned r quarter-turns is class `4 · c + r`; tfds labels
    the 964 background characters 0..963 and the 659 evaluation characters 964..1622."""
    background = OMNIGLOT_BACKGROUND_CHARACTERS
    train = background - OMNIGLOT_VALIDATION_CHARACTERS

    def classes(first, last):
        return tuple(range(first * ROTATIONS, last * ROTATIONS))

    return {"train": classes(0, train), "validation": classes(train, background),
            "test": classes(background, OMNIGLOT_CHARACTERS)}


def _load_omniglot(split):
    """tfds' "train" (background) or "test" (evaluation) split: each image resized to 28×28 grey
    levels and inverted (strokes bright, as in Fashion-MNIST), in its four rotations."""
    import tensorflow as tf

    builder = sources._tfds_builder("omniglot")
    if not Path(builder.data_dir, "dataset_info.json").is_file():
        if not sources.is_online():
            raise sources.DatasetUnavailableError(
                f"dataset 'omniglot' is not on this machine and tensorflow-datasets cannot be "
                f"reached ({sources.TFDS_HOST[0]}): {DATASETS['omniglot'].how_to_get}")
        builder.download_and_prepare()

    def prepare(example):
        grey = tf.image.rgb_to_grayscale(tf.cast(example["image"], "float32") / 255.0)
        return 1.0 - tf.image.resize(grey, IMAGE_SIZE, method="area"), example["label"]

    dataset = builder.as_dataset(split=split).map(prepare).batch(1024)
    images, characters = [], []
    for x, y in dataset.as_numpy_iterator():
        images.append(x)
        characters.append(y)
    x, characters = np.concatenate(images), np.concatenate(characters).astype("int32")
    groups = [(rotated, characters * ROTATIONS + r) for r, rotated in enumerate(rotations(x))]
    x = np.concatenate([np.ascontiguousarray(g[0]) for g in groups])
    y = np.concatenate([g[1] for g in groups]).astype("int32")
    order = round_robin([np.flatnonzero(y == label) for label in np.unique(y)])
    return x[order], y[order]


# === The datasets ===============================================================================


def _fashion_offline():
    return sources.KNOWN["fashion_mnist"].available_offline()


DATASETS = {
    "fewshot_rotations": sources.DatasetInfo(
        name="fewshot_rotations",
        input_shape=(*IMAGE_SIZE, 1),
        num_classes=2 * 10 * ROTATIONS,
        class_names=_rotation_class_names(),
        source="fashion_mnist and digits (upsampled to 28×28), each class in 4 rotations as 4 "
        "classes (Snell et al. 2017's Omniglot recipe); split by base class: 48 training, 8 "
        "validation, 24 held-out classes",
        how_to_get=sources.KNOWN["fashion_mnist"].how_to_get,
        class_splits=class_splits_of_rotations(),
        _offline=_fashion_offline,
        _load=_load_rotations,
    ),
    "omniglot": sources.DatasetInfo(
        name="omniglot",
        input_shape=(*IMAGE_SIZE, 1),
        num_classes=OMNIGLOT_CHARACTERS * ROTATIONS,
        class_names=tuple(f"character {c} {90 * r}°" for c in range(OMNIGLOT_CHARACTERS)
                          for r in range(ROTATIONS)),
        source="tensorflow-datasets' omniglot: background alphabets to learn from, evaluation "
        "alphabets held out (Lake et al. 2015), 28×28, each character in 4 rotations",
        how_to_get="connect to the internet once so tensorflow-datasets can download omniglot",
        class_splits=omniglot_class_splits(),
        _offline=lambda: sources._tfds_prepared("omniglot"),
        _load=_load_omniglot,
    ),
}

sources.KNOWN.update(DATASETS)
