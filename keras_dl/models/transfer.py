"""Transfer learning: a trained network cut at a layer, with a new head for new classes.

`transfer` builds the network that is served: the source network's layers up to `cut_layer`
(the "trunk", a nested model, run in inference mode: batch norm keeps the statistics, scale
and shift it learnt, for good; dropout is off) and a new head (the "head", a nested model:
optional hidden layers, then the classifier for `num_classes`). How it is trained (the head
alone on the frozen trunk for `head_epochs`, then everything with the trunk's learning rate
scaled by `finetune_rate`) is the `transfer` task's (`keras_dl.tasks.transfer`).

The source is one of:
- a run dir (its `model.keras`) or a `.keras` file: a trained network, the usual case;
- a registered model name (with `source_kwargs`): built fresh and untrained, which is the
  from-scratch baseline of the same architecture and head;
- a `keras.applications` name (`"MobileNetV2"`), without its top, with `weights` (None, or
  "imagenet" when online or cached).

Lecture 002 §8.5: features learnt on one task (ImageNet, or other classes) serve another
with few labels; Yosinski et al. 2014 measure how transferable each layer's features are.
"""

from __future__ import annotations

from pathlib import Path

import keras

from keras_dl import compat
from keras_dl.models._common import (
    POOLINGS,
    check_choice,
    check_input_shape,
    check_units,
    classifier_head,
)
from keras_dl.registry import list_models, register_model, create_model

WEIGHTS = (None, "imagenet")
SHOWN_LAYERS = 12  # how many layer names an unknown cut layer's message lists


@register_model(
    family="transfer",
    task="transfer",
    search_space=lambda hp: {
        "finetune_rate": hp.Choice("finetune_rate", [0.01, 0.1, 1.0]),
        "head_units": (hp.Choice("head_units", [32, 64, 128]),),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (6, 6, 1), "num_classes": 3, "source": "mlp",
                  "source_kwargs": {"hidden_units": (8, 4), "dropout": 0.0},
                  "head_units": (4,), "head_epochs": 1},
    train_defaults={"epochs": 10, "batch_size": 64, "learning_rate": 1e-3},
)
def transfer(
    *,
    input_shape=(28, 28, 1),
    num_classes=10,
    source="mlp",
    source_kwargs=None,
    weights=None,
    cut_layer=None,
    head_units=(),
    dropout=0.0,
    head_epochs=5,
    finetune_rate=0.1,
    include_top=True,
    pooling=None,
    classifier_activation="softmax",
    name="transfer",
):
    """A source network's trunk, cut at `cut_layer`, under a new classifier head.

    Args:
        input_shape: one example's shape; the source must take the same.
        num_classes: classes of the new head.
        source: a run dir or `.keras` file (a trained network), a registered model name
            (built fresh: training from scratch), or a `keras.applications` name.
        source_kwargs: builder arguments of a registered source (its `input_shape` is
            `input_shape`).
        weights: a `keras.applications` source's weights: None (random) or "imagenet".
        cut_layer: the source's layer whose output the head reads (default: the layer
            before its classifier, the last layer with weights).
        head_units: widths of hidden ReLU layers of the head before its classifier.
        dropout: dropout rate before each of the head's dense layers (0: none).
        head_epochs: epochs that train the head alone on the frozen trunk; the run's later
            epochs fine-tune everything (`keras_dl.tasks.transfer`).
        finetune_rate: the trunk's learning rate while fine-tuning, as a multiple of the
            run's (0: the trunk stays frozen throughout).
        include_top: with the classifier; without it, the (pooled) head features.
        pooling: the trunk's spatial features to a vector: None (flatten), "avg" or "max".
        classifier_activation: "softmax", or None for logits.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("transfer", source="runs/base", num_classes=5,
                                  input_shape=(28, 28, 1))
    ```

    Reference:
        Yosinski, Clune, Bengio, Lipson. "How transferable are features in deep neural
        networks?", NeurIPS 2014.
    """
    input_shape = check_input_shape(input_shape)
    check_choice("pooling", pooling, POOLINGS)
    check_choice("weights", weights, WEIGHTS)
    head_units = check_units("head_units", head_units) if head_units else ()
    if not isinstance(head_epochs, int) or isinstance(head_epochs, bool) or head_epochs < 0:
        raise ValueError(f"head_epochs must be an integer of at least 0, got {head_epochs!r}")
    if isinstance(finetune_rate, bool) or not isinstance(finetune_rate, (int, float)) \
            or not 0 <= finetune_rate <= 1:
        raise ValueError(f"finetune_rate must be a number in [0, 1], got {finetune_rate!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
    network = load_source(source, input_shape=input_shape, source_kwargs=source_kwargs,
                          weights=weights)
    trunk = cut(network, cut_layer, source)
    for layer in compat.all_layers(trunk):
        if isinstance(layer, keras.layers.BatchNormalization):
            # frozen for good, as Keras' transfer-learning guide does: inference mode, and
            # neither its statistics nor its scale and shift change (precise-BN recalibration
            # leaves a layer that is not trainable alone too)
            layer.trainable = False

    features = keras.Input(tuple(trunk.output.shape[1:]), name="features")
    h = features
    if len(h.shape) > 2:
        h = (keras.layers.Flatten(name="head_flatten")(h) if pooling is None else
             keras.layers.GlobalAveragePooling2D(name="head_avg_pool")(h) if pooling == "avg"
             else keras.layers.GlobalMaxPooling2D(name="head_max_pool")(h))
    for index, width in enumerate(head_units, start=1):
        if dropout:
            h = keras.layers.Dropout(dropout, name=f"head_dropout{index}")(h)
        h = keras.layers.Dense(width, activation="relu", name=f"head_dense{index}")(h)
    if include_top and dropout:
        h = keras.layers.Dropout(dropout, name="head_dropout")(h)
    outputs = classifier_head(h, num_classes=num_classes, include_top=include_top,
                              pooling=None, classifier_activation=classifier_activation)
    head = keras.Model(features, outputs, name="head")

    inputs = keras.Input(input_shape, name="inputs")
    model = keras.Model(inputs, head(trunk(inputs, training=False)), name=name)
    # what the `transfer` task reads (a rebuilt or reloaded model has the registry's defaults)
    model.head_epochs, model.finetune_rate = head_epochs, float(finetune_rate)
    return model


def load_source(source, *, input_shape, source_kwargs=None, weights=None) -> keras.Model:
    """The source network that `source` names (see `transfer`), checked to take inputs of
    `input_shape`; `ValueError` naming the source otherwise."""
    if isinstance(source, keras.Model):
        network = source
    elif not isinstance(source, str) or not source:
        raise ValueError(f"source must be a run dir, a .keras file, a registered model or a "
                         f"keras.applications name, got {source!r}")
    elif source in list_models():
        kwargs = dict(source_kwargs or {})
        kwargs["input_shape"] = input_shape
        network = create_model(source, **{k: tuple(v) if isinstance(v, list) else v
                                          for k, v in kwargs.items()})
    elif _application(source) is not None:
        network = _application_network(source, input_shape, weights)
    else:
        network = _load_file(source)
    if source_kwargs and not (isinstance(source, str) and source in list_models()):
        raise ValueError(f"source_kwargs are for a registered source model; source "
                         f"{source!r} is not one")
    held = tuple(network.inputs[0].shape[1:]) if len(network.inputs) == 1 else None
    if held != tuple(input_shape):
        raise ValueError(f"source {source if isinstance(source, str) else network.name!r} "
                         f"takes inputs of shape {held}, but the data has shape "
                         f"{tuple(input_shape)}; transfer from a network of the data's input "
                         "shape")
    return network


def _load_file(source: str) -> keras.Model:
    import keras_dl

    path = Path(source)
    model_file = path / "model.keras" if path.is_dir() else path
    if not path.exists():
        raise ValueError(f"source {source!r} is no run dir, .keras file, registered model "
                         f"or keras.applications name (registered: {', '.join(list_models())})")
    if not model_file.is_file():
        raise ValueError(f"source {source!r} is a directory without model.keras (an "
                         "unfinished run?); give a finished run dir or a .keras file")
    if model_file.suffix != ".keras":
        raise ValueError(f"source {source!r} is not a .keras model file")
    try:
        return keras_dl.load_model(model_file, compile=False)
    except (ValueError, OSError) as error:
        raise ValueError(f"source {source!r}: {error}") from None


def _application(name: str):
    builder = getattr(keras.applications, name, None)
    return builder if callable(builder) and name[:1].isupper() else None


def _application_network(name, input_shape, weights):
    if weights == "imagenet":
        _check_weights_reachable(name)
    return _application(name)(include_top=False, weights=weights, input_shape=input_shape)


def _check_weights_reachable(name):
    """`ValueError` within seconds when ImageNet weights of `name` would be downloaded but
    cannot be (offline and not in Keras' cache, ~/.keras/models)."""
    import os

    from keras_dl.data.sources import is_online

    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    prefix = name.lower().replace("v", "_v").lstrip("_")
    cached = cache.is_dir() and any(f.name.lower().startswith((name.lower(), prefix))
                                    for f in cache.iterdir())
    if not cached and not is_online():
        raise ValueError(f"source {name!r} with weights 'imagenet': the weights are not in "
                         f"{cache} and storage.googleapis.com cannot be reached; connect once "
                         "so Keras caches them, or use weights None")


def default_cut_layer(network: keras.Model) -> str:
    """The name of the layer before `network`'s classifier: the last layer with weights,
    found from the output end past layers without weights (an activation, a pooling)."""
    layers = network.layers
    for index in range(len(layers) - 1, 0, -1):
        if layers[index].weights:
            return layers[index - 1].name
    raise ValueError(f"source {network.name!r} has no layer with weights to cut before; name "
                     "cut_layer")


def cut(network: keras.Model, cut_layer, source) -> keras.Model:
    """The trunk: `network` from its input to `cut_layer`'s output, as a model named "trunk"
    sharing `network`'s layers (and weights). `ValueError` naming the layers it has when
    `cut_layer` is none of them."""
    cut_layer = cut_layer if cut_layer is not None else default_cut_layer(network)
    names = [layer.name for layer in network.layers]
    if cut_layer not in names:
        shown = ", ".join(names[:SHOWN_LAYERS]) + (f", ... ({len(names)} layers)"
                                                   if len(names) > SHOWN_LAYERS else "")
        raise ValueError(f"cut_layer {cut_layer!r} is not a layer of source "
                         f"{source if isinstance(source, str) else network.name!r}; its "
                         f"layers: {shown}")
    return keras.Model(network.inputs, network.get_layer(cut_layer).output, name="trunk")
