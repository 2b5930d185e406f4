"""Class-split views of a classification dataset: a class subset, few labels per class.

A view is written as the dataset's name with a suffix, `BASE:key=value,key=value`, and is
accepted wherever a dataset name is (`keras-dl train --dataset`, `keras-dl tune`, the apps,
`keras_dl.data.info` / `load_numpy` / `load`):

```python
keras_dl.data.info("fashion_mnist:classes=0-4").num_classes          # 5
x, y = keras_dl.data.load_numpy("fashion_mnist:classes=5-9,per_class=10,seed=1", "train")
len(x)                                                               # 50; y in 0..4
```

Keys:

- `classes`: the classes kept, a range `A-B` (inclusive) or numbers and ranges joined by `+`
  (`0+2+5-7`). Every split keeps the examples of those classes alone, and their labels are
  renumbered 0..k−1 in ascending order of the original class (`fashion_mnist:classes=5-9`:
  Sandal → 0, ..., Ankle boot → 4); `info(view).class_names` are the kept classes' names.
- `per_class`: N training labels per class. The training split keeps N examples of each
  (kept) class, drawn at random by `seed`; the test split keeps all its examples. For each
  class the draw is the first N of one permutation of that class's examples, so the draws of
  one seed are nested: the 10 per class of `per_class=10` are among the 100 of `per_class=100`.
  Asking for more than a class has is an error naming the class and its count.
- `seed`: which N examples are drawn (default 0).

The examples keep the base dataset's order (a `limit` then cuts a view as it cuts its base).

Datasets with several label sets (`info(base).label_names`, labels `y` of shape (n, m)): the
view acts on column 0. `classes` keeps the examples whose column-0 label is a kept class and
renumbers that column; `per_class=N` keeps every training example but leaves the column-0
label on N of each class alone, setting it to −1 (unlabelled) on the others, which still
serve the other label sets.

Validation (`validation_split`): the validation examples a run holds out of a `per_class`
view come out of those N per class, stratified: `max(1, round(N × fraction))` of each class,
never all of them, so each class keeps at least one training example. With `per_class=1`
nothing can be held out; the validation split is then the training examples themselves
(its metrics say how well the training set is fitted, not how well the model generalises).

The view's name is what a run's `config.json` records as its dataset, so a resumed run is
checked against the same view.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from keras_dl.data.sources import DatasetInfo

KEYS = ("classes", "per_class", "seed")
UNLABELLED = -1
_NUMBER = re.compile(r"\d+")
_RANGE = re.compile(r"(\d+)-(\d+)")


@dataclasses.dataclass(frozen=True)
class ViewSpec:
    """A parsed view: the base dataset's name, the classes kept (None: all, in order),
    the training labels per class (None: all), and the draw's seed."""

    base: str
    name: str = ""
    classes: tuple | None = None
    per_class: int | None = None
    seed: int = 0


def is_view(name) -> bool:
    """True when `name` is written as a view (`BASE:key=value,...`); a tensorflow-datasets
    version suffix (`mnist:3.0.1`) holds no `=` and is not one."""
    return isinstance(name, str) and ":" in name and "=" in name.rsplit(":", 1)[1]


def parse(name: str) -> ViewSpec:
    """The `ViewSpec` that `name` writes; `ValueError` naming a bad key or value (the classes
    are checked against the dataset by `view_info`)."""
    base, _, suffix = name.rpartition(":")
    if not base:
        raise ValueError(f"dataset view {name!r} names no dataset before ':'; write "
                         "BASE:classes=0-4,per_class=10,seed=0")
    values = {}
    for item in suffix.split(","):
        key, equals, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not equals or key not in KEYS:
            raise ValueError(f"dataset view {name!r}: unknown key {key!r}; allowed: "
                             f"{', '.join(KEYS)} (e.g. {base}:classes=0-4,per_class=10)")
        if key in values:
            raise ValueError(f"dataset view {name!r} gives {key} twice; give it once")
        values[key] = value
    classes = parse_classes(values["classes"], name) if "classes" in values else None
    per_class = _count(values["per_class"], "per_class", name, minimum=1) \
        if "per_class" in values else None
    seed = _count(values["seed"], "seed", name, minimum=0) if "seed" in values else 0
    return ViewSpec(base=base, name=name, classes=classes, per_class=per_class, seed=seed)


def _count(text, key, name, *, minimum):
    if not _NUMBER.fullmatch(text) or int(text) < minimum:
        raise ValueError(f"dataset view {name!r}: {key}={text!r} is not an integer of at "
                         f"least {minimum}")
    return int(text)


def parse_classes(text: str, name: str = "") -> tuple:
    """The class numbers that `text` writes (`0-4`, `0+2+5-7`), ascending; `ValueError` for
    anything else, a reversed range, or a class named twice."""
    classes = []
    for part in text.split("+"):
        part = part.strip()
        if _NUMBER.fullmatch(part):
            classes.append(int(part))
        elif (match := _RANGE.fullmatch(part)) and int(match[1]) <= int(match[2]):
            classes.extend(range(int(match[1]), int(match[2]) + 1))
        else:
            raise ValueError(f"dataset view {name!r}: classes={text!r} is not a list of "
                             "classes; write a range A-B (A ≤ B) or numbers and ranges "
                             "joined by + (0+2+5-7)")
    repeated = sorted({c for c in classes if classes.count(c) > 1})
    if repeated:
        raise ValueError(f"dataset view {name!r}: classes={text!r} names class {repeated[0]} "
                         "more than once")
    return tuple(sorted(classes))


def view_info(name: str, base_info) -> DatasetInfo:
    """The `DatasetInfo` of the view `name`; `base_info(base)` gives the base's. `ValueError`
    for a base that is no classification dataset, or a class it lacks."""
    spec = parse(name)
    base = base_info(spec.base)
    kind = ("pairs each image with a target image" if base.target_shape is not None else
            "mixes labelled source and unlabelled target examples" if base.domain_shift else
            "holds different classes in its splits" if getattr(base, "class_splits", None)
            else None)
    if kind is not None or not base.num_classes:
        raise ValueError(f"dataset view {name!r}: class views are for classification "
                         f"datasets; {spec.base!r} {kind or 'has no classes'}")
    classes = spec.classes if spec.classes is not None else tuple(range(base.num_classes))
    outside = [c for c in classes if c >= base.num_classes]
    if outside:
        raise ValueError(f"dataset view {name!r}: dataset {spec.base!r} has no class "
                         f"{outside[0]}; its classes are 0-{base.num_classes - 1}")
    changes = {}
    if getattr(base, "head_classes", None):
        changes["head_classes"] = (len(classes), *tuple(base.head_classes)[1:])
    described = []
    if spec.classes is not None:
        described.append(f"classes {', '.join(str(c) for c in classes)} (labels renumbered "
                         f"0-{len(classes) - 1})")
    if spec.per_class is not None:
        described.append(f"{spec.per_class} training labels per class (seed {spec.seed})")
    return dataclasses.replace(
        base,
        name=name,
        num_classes=len(classes),
        class_names=tuple(base.class_names[c] for c in classes) if base.class_names else (),
        source=f"{spec.base}, {' and '.join(described) or 'all of it'}",
        _load=lambda split: load_view(spec, base, classes, split),
        **changes,
    )


def load_view(spec: ViewSpec, base: DatasetInfo, classes: tuple, split: str):
    """`(x, y)` of a split of the view (see the module docstring)."""
    from keras_dl.data import load_numpy

    x, y = load_numpy(spec.base, split)
    labels = y[:, 0] if y.ndim == 2 else y
    mapping = np.full(max(base.num_classes, int(labels.max(initial=0)) + 1), UNLABELLED,
                      "int32")
    mapping[list(classes)] = np.arange(len(classes), dtype="int32")
    keep = (labels >= 0) & (mapping[np.clip(labels, 0, None)] >= 0)
    if y.ndim == 2:  # several label sets: examples unlabelled in column 0 stay unlabelled
        keep |= labels == UNLABELLED
    x, y = x[keep], np.array(y[keep])
    column = y[:, 0] if y.ndim == 2 else y
    labelled = column >= 0
    column[labelled] = mapping[column[labelled]]
    if spec.per_class is not None and split == "train":
        chosen = _draw(column, classes, base, spec)
        if y.ndim == 2:
            column[~chosen & labelled] = UNLABELLED
        else:
            x, y = x[chosen], y[chosen]
    return x, y


def _draw(labels, classes, base, spec) -> np.ndarray:
    """A mask of `spec.per_class` examples of each class: the first of one permutation of the
    class's examples by `(seed, original class)`, so smaller draws lie inside larger ones."""
    chosen = np.zeros(len(labels), bool)
    for label, original in enumerate(classes):
        members = np.flatnonzero(labels == label)
        if len(members) < spec.per_class:
            named = f" ({base.class_names[original]})" if base.class_names else ""
            raise ValueError(f"dataset view {spec.name!r}: class {original}{named} has "
                             f"{len(members)} training example(s), fewer than "
                             f"per_class={spec.per_class}; per_class may be at most "
                             f"{len(members)}")
        order = np.random.default_rng([spec.seed, original]).permutation(members)
        chosen[order[:spec.per_class]] = True
    return chosen


def validation_split(name: str, x, y, validation_fraction: float, seed: int = 0):
    """`(x_fit, y_fit, x_val, y_val)` of a `per_class` view's training examples, stratified:
    `max(1, round(n × fraction))` of each class's n labelled examples are held out, at most
    n − 1 (every class keeps a training example); examples unlabelled in column 0 are split
    by the fraction. When nothing can be held out (one example per class), the validation
    split is the training examples themselves."""
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction!r}")
    rng = np.random.default_rng(seed)
    labels = y[:, 0] if y.ndim == 2 else y
    held = []
    for label in np.unique(labels[labels >= 0]):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = min(len(members) - 1, max(1, int(round(len(members) * validation_fraction))))
        held.extend(members[:count])
    unlabelled = rng.permutation(np.flatnonzero(labels < 0))
    held.extend(unlabelled[:int(round(len(unlabelled) * validation_fraction))])
    if not held:
        return x, y, x, y
    val = np.zeros(len(x), bool)
    val[held] = True
    return x[~val], y[~val], x[val], y[val]
