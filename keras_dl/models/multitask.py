"""A multitask network (lecture 002 §8.5): one shared trunk, one classifier head per task.

"Multitask learning: simultaneously learning a representation for separate operations — a
two-headed network, one for each task" (lecture 002). `multitask` builds the network that is
trained and served: the trunk (any registered classifier cut before its classifier, by
`include_top=False`: an MLP by default, LeNet-5, a ResNet, ...) as one nested model named
"trunk", then one head per task, each an optional stack of dense ReLU layers
(`{head}_dense1..`) and a softmax layer named after its task (`fine`, `coarse`). The model
has one output per head, in order.

How the heads are trained together is the `multitask` task's (`keras_dl.tasks.multitask`):
`mode="joint"` minimises the weighted sum of the heads' losses at every step; `mode=
"alternating"` backpropagates from one head at a time, the tasks' batches taken in turn. The
builder records `mode` and `loss_weights` on the model (`multitask_mode`,
`head_loss_weights`), where the task reads them.

Reference: Caruana, "Multitask Learning", Machine Learning 28 (1997): a shared hidden layer
trained on several related tasks at once generalises better on each.
"""

from __future__ import annotations

import math
import numbers

import keras

from keras_dl.models._common import check_choice, check_input_shape, check_units
from keras_dl.models.multitask_training import MODES  # (and registers AlternatingTrainer)
from keras_dl.registry import create_model, list_models, model_info, register_model

RESERVED_NAMES = ("inputs", "trunk", "trunk_flatten")
TRUNK_ARGUMENTS = ("input_shape", "num_classes", "include_top", "name")


def trunks() -> list[str]:
    """The registered models a trunk may be: plain classifiers whose builder can leave out
    its classifier (`include_top=False`)."""
    return [name for name in list_models()
            if model_info(name).task == "classification"
            and "include_top" in model_info(name).parameters]


def check_head_classes(head_classes) -> tuple[int, ...]:
    classes = check_units("head_classes", head_classes)
    if len(classes) < 2:
        raise ValueError(f"head_classes must give two or more heads' class counts, got "
                         f"{head_classes!r}")
    return classes


def check_head_names(head_names, count) -> tuple[str, ...]:
    if isinstance(head_names, str) or not hasattr(head_names, "__iter__"):
        raise ValueError(f"head_names must be a sequence of names, got {head_names!r}")
    names = tuple(head_names)
    if len(names) != count:
        raise ValueError(f"head_names {names!r} name {len(names)} heads; head_classes gives "
                         f"{count}")
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or name in RESERVED_NAMES:
            raise ValueError(f"head name {name!r} must be a Python identifier other than "
                             f"{', '.join(RESERVED_NAMES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"head_names {names!r} repeat a name; each head needs its own")
    return names


def check_loss_weights(loss_weights, count) -> tuple[float, ...]:
    if isinstance(loss_weights, (str, bytes)) or not hasattr(loss_weights, "__iter__"):
        raise ValueError(f"loss_weights must be a sequence of numbers ≥ 0, got "
                         f"{loss_weights!r}")
    weights = tuple(loss_weights)
    if len(weights) != count:
        raise ValueError(f"loss_weights {weights!r} give {len(weights)} weights for {count} "
                         "heads; give one per head")
    for weight in weights:
        if (not isinstance(weight, numbers.Real) or isinstance(weight, bool)
                or not math.isfinite(weight) or weight < 0):
            raise ValueError(f"loss weight {weight!r} must be a finite number ≥ 0 (0 leaves "
                             "its head untrained)")
    if not any(weights):
        raise ValueError(f"loss_weights {weights!r} are all 0; at least one head must train")
    return tuple(float(weight) for weight in weights)


def _trunk(trunk, trunk_kwargs, input_shape):
    """The trunk: the registered classifier `trunk` built without its classifier (globally
    average-pooled where the builder pools), as a model named "trunk"."""
    allowed = trunks()
    if trunk not in allowed:
        raise ValueError(f"trunk {trunk!r} is not a registered classifier that can leave out "
                         f"its classifier; allowed: {', '.join(allowed)}")
    kwargs = dict(trunk_kwargs or {})
    fixed = sorted(set(kwargs) & set(TRUNK_ARGUMENTS))
    if fixed:
        raise ValueError(f"trunk_kwargs may not set {fixed[0]!r}: the multitask model sets "
                         f"{', '.join(TRUNK_ARGUMENTS)}")
    if "pooling" in model_info(trunk).parameters:
        kwargs.setdefault("pooling", "avg")
    kwargs = {key: tuple(value) if isinstance(value, list) else value
              for key, value in kwargs.items()}
    return create_model(trunk, input_shape=input_shape, include_top=False, name="trunk",
                        **kwargs)


@register_model(
    family="multitask",
    task="multitask",
    search_space=lambda hp: {
        "mode": hp.Choice("mode", list(MODES)),
        "head_units": (hp.Choice("head_width", [32, 64, 128]),) * hp.Int("head_depth", 0, 1),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "head_classes": (3, 2),
                  "trunk_kwargs": {"hidden_units": (4,)}},
    train_defaults={"epochs": 10, "batch_size": 64, "learning_rate": 1e-3},
)
def multitask(
    *,
    input_shape=(28, 28, 1),
    head_classes=(10, 4),
    head_names=("fine", "coarse"),
    trunk="mlp",
    trunk_kwargs=None,
    head_units=(),
    loss_weights=(1.0, 1.0),
    mode="joint",
    classifier_activation="softmax",
    name="multitask",
):
    """A shared trunk with one classifier head per task (multitask learning; Caruana 1997).

    Args:
        input_shape: one example's shape.
        head_classes: each head's number of classes, in order (`fashion_mnist_groups`: 10
            fine classes, 4 coarse groups). `keras-dl train` takes them from the dataset.
        head_names: each head's name, in order: its output layer's name, its metrics'
            prefix (`fine_accuracy`) and its served output (`fine_probabilities`).
            `keras-dl train` takes the dataset's label names.
        trunk: the registered classifier whose layers, less its classifier, are shared by
            the heads (`trunks()` lists them); "mlp" by default.
        trunk_kwargs: the trunk builder's own arguments (`{"hidden_units": [256]}` for the
            MLP, `{"modern": True}` for LeNet-5); pooling defaults to "avg" where the builder
            has it.
        head_units: widths of each head's hidden dense ReLU layers before its classifier
            (empty: a linear classifier on the trunk's features).
        loss_weights: each head's weight in the training loss, ≥ 0 (0 leaves a head
            untrained: with `(1, 0)` the model is a single-task classifier on the first
            task).
        mode: "joint" (every step minimises the weighted sum of the heads' losses) or
            "alternating" (every step backpropagates from one head, the heads in turn).
        classifier_activation: "softmax" for probabilities, None for logits.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("multitask", head_classes=(10, 4),
                                  trunk_kwargs={"hidden_units": [256]}, mode="alternating")
    fine_probabilities, coarse_probabilities = model(images)
    ```

    Reference:
        Caruana. "Multitask Learning", Machine Learning 28(1):41-75, 1997.
    """
    input_shape = check_input_shape(input_shape)
    classes = check_head_classes(head_classes)
    names = check_head_names(head_names, len(classes))
    weights = check_loss_weights(loss_weights, len(classes))
    check_choice("mode", mode, MODES)
    check_choice("classifier_activation", classifier_activation, ("softmax", None))
    hidden = check_units("head_units", head_units)
    if not isinstance(trunk_kwargs, (dict, type(None))):
        raise ValueError(f"trunk_kwargs must be a dict of the trunk's arguments, got "
                         f"{trunk_kwargs!r}")

    inputs = keras.Input(input_shape, name="inputs")
    features = _trunk(trunk, trunk_kwargs, input_shape)(inputs)
    if len(features.shape) > 2:
        features = keras.layers.Flatten(name="trunk_flatten")(features)
    outputs = []
    for head, count in zip(names, classes):
        h = features
        for index, width in enumerate(hidden, start=1):
            h = keras.layers.Dense(width, activation="relu", name=f"{head}_dense{index}")(h)
        outputs.append(keras.layers.Dense(count, activation=classifier_activation,
                                          name=head)(h))
    model = keras.Model(inputs, outputs, name=name)
    model.multitask_mode = mode  # read by the multitask task; not part of the saved config
    model.head_loss_weights = weights
    return model
