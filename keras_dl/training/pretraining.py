"""Greedy layer-wise pre-training, then supervised fine-tuning.

The protocol of Hinton, Osindero & Teh (2006) and Bengio, Lamblin, Popovici & Larochelle (2007),
as lecture 003 teaches it: train the first hidden layer on the data without labels; freeze it,
compute its hidden representation (probabilities, or samples), and train the next layer on that;
and so on up the stack. The trained weights then initialise a feed-forward network, which is
fine-tuned with labels in one of two modes:

- `"all"`: the whole stack is trained again, with a new classifier on top;
- `"top"`: the stack stays frozen and only the classifier is trained.

The recipe does not know what a layer is trained as. A *unit* is anything with three methods
(`GreedyUnit`): `fit` on a representation, `transform` it one layer up, and hand over its
encoder weights `(kernel, bias)` for the feed-forward layer. RBMs (`"rbm"`), autoencoders and
denoising autoencoders register their units with `register_unit`; this module registers
`"supervised"`, Bengio et al.'s greedy *supervised* pre-training (each new layer is trained with
a temporary softmax classifier on top of the frozen ones).

```python
model = keras_dl.create_model("mlp", input_shape=(28, 28, 1), hidden_units=(500, 500),
                              activation="sigmoid")
result = pretrain_model(model, x_train, unit="rbm", epochs=5)
set_finetune_mode(model, "top", result.layers)   # or "all"
```
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Protocol, Sequence

import keras
import numpy as np

from keras_dl import compat

FINETUNE_MODES = ("all", "top")
PROPAGATE = ("probabilities", "samples")


class GreedyUnit(Protocol):
    """One layer of a stack, trained on the representation computed by the layers below it."""

    def fit(self, x: np.ndarray, y: np.ndarray | None = None, *, epochs: int, batch_size: int,
            learning_rate: float, verbose=0) -> dict:
        """Train on `x` (labels `y` only for units that use them); return the history dict."""

    def transform(self, x: np.ndarray, *, sample: bool = False) -> np.ndarray:
        """The representation one layer up: probabilities (or, with `sample`, binary samples)."""

    def dense_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """`(kernel, bias)` for a `Dense(units, activation)` layer computing `transform`."""


# factory(input_dim, units, *, activation, seed, **options) -> GreedyUnit
UnitFactory = Callable[..., GreedyUnit]
_UNITS: dict[str, UnitFactory] = {}
# units that need labels to train
_SUPERVISED: set[str] = set()


def register_unit(name: str, *, supervised: bool = False):
    """Decorator registering a unit factory `fn(input_dim, units, *, activation, seed, **opts)`."""

    def decorator(factory):
        if name in _UNITS:
            raise ValueError(f"pre-training unit {name!r} is already registered")
        _UNITS[name] = factory
        if supervised:
            _SUPERVISED.add(name)
        return factory

    return decorator


def list_units() -> list[str]:
    """Names of the registered pre-training units."""
    _import_units()
    return sorted(_UNITS)


def _import_units():
    # Units live beside the models they come from; importing keras_dl.training registers them.
    import keras_dl.training  # noqa: F401


def make_unit(name: str, input_dim: int, units: int, *, activation: str = "sigmoid",
              seed: int = 0, **options) -> GreedyUnit:
    """A fresh unit of kind `name`; `ValueError` naming the registered kinds otherwise."""
    _import_units()
    if name not in _UNITS:
        raise ValueError(f"unknown pre-training unit {name!r}; allowed: {', '.join(sorted(_UNITS))}")
    return _UNITS[name](int(input_dim), int(units), activation=activation, seed=seed, **options)


@dataclasses.dataclass
class PretrainResult:
    """What `pretrain_model` / `greedy_pretrain` did: one entry per layer, bottom up."""

    unit: str
    layers: list[str]
    units: list
    histories: list[dict]

    def summary(self) -> dict:
        """A JSON-ready summary: per layer, its name and the last value of each monitored metric."""
        return {
            "unit": self.unit,
            "layers": [
                {"layer": name, **{k: float(v[-1]) for k, v in history.items() if len(v)}}
                for name, history in zip(self.layers, self.histories)
            ],
        }


def _check_common(epochs, batch_size, learning_rate, propagate):
    for key, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"pre-training {key} must be a positive integer, got {value!r}")
    if not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ValueError(f"pre-training learning rate must be positive, got {learning_rate!r}")
    if propagate not in PROPAGATE:
        raise ValueError(f"propagate must be one of {', '.join(PROPAGATE)}; got {propagate!r}")


def greedy_pretrain(x, hidden_units: Sequence[int], unit: str = "rbm", *, y=None,
                    activations: Sequence[str] | str = "sigmoid", epochs: int = 5,
                    batch_size: int = 64, learning_rate: float = 0.01,
                    propagate: str = "probabilities", seed: int = 0, unit_options=None,
                    verbose=0, names: Sequence[str] | None = None) -> PretrainResult:
    """Train a stack of `unit`s greedily, bottom up, on `x` (flattened to vectors).

    Layer `i` is trained on the representation of layers `< i`, which stay fixed from then on.
    `propagate="samples"` passes binary samples of each hidden layer up instead of its
    probabilities (Hinton et al. 2006 use samples; probabilities are the common, lower-variance
    choice). Returns the trained units and their histories.
    """
    if not len(hidden_units):
        raise ValueError("a stack needs at least one hidden layer; got hidden_units=()")
    _check_common(epochs, batch_size, learning_rate, propagate)
    _import_units()
    if unit in _SUPERVISED and y is None:
        raise ValueError(f"pre-training unit {unit!r} trains with labels: pass y")
    if isinstance(activations, str):
        activations = [activations] * len(hidden_units)
    names = list(names) if names is not None else [f"layer{i + 1}" for i in range(len(hidden_units))]
    representation = np.asarray(x, dtype="float32").reshape(len(x), -1)
    trained, histories = [], []
    for i, (width, activation) in enumerate(zip(hidden_units, activations)):
        layer_unit = make_unit(unit, representation.shape[1], width, activation=activation,
                               seed=seed + i, **dict(unit_options or {}))
        if verbose:
            print(f"pre-training {names[i]} ({unit}, {representation.shape[1]} -> {width})")
        history = layer_unit.fit(representation, y, epochs=epochs, batch_size=batch_size,
                                 learning_rate=learning_rate, verbose=verbose)
        trained.append(layer_unit)
        histories.append(dict(history or {}))
        if i + 1 < len(hidden_units):
            representation = np.asarray(
                layer_unit.transform(representation, sample=propagate == "samples"),
                dtype="float32")
    return PretrainResult(unit=unit, layers=names, units=trained, histories=histories)


def stack_layers(model: keras.Model) -> list:
    """The hidden `Dense` layers of `model` that pre-training initialises, bottom up.

    Every `Dense` layer except the classifier (`predictions`), in the order the model applies
    them. Each computes `activation(x W + b)`: with its own activation, or followed directly by
    an activation layer (sigmoid of slope 1, tanh, ReLU...). Batch normalisation between the
    linear map and the nonlinearity has no pre-trained counterpart and is refused.
    """
    dense = [layer for layer in model.layers
             if isinstance(layer, keras.layers.Dense) and layer.name != "predictions"]
    if not dense:
        raise ValueError(f"model {model.name!r} has no hidden Dense layers to pre-train")
    for layer in dense:
        layer_activation(model, layer)  # raises for a layer without a usable nonlinearity
    return dense


def _name_of(activation) -> str:
    serialized = keras.activations.serialize(activation)
    if isinstance(serialized, dict):
        serialized = serialized.get("config", {}).get("name", serialized.get("class_name"))
    return str(serialized)


def _inputs_of(layer) -> list:
    """The symbolic tensors `layer` was called on in its functional model (none for an input)."""
    try:
        return keras.tree.flatten(layer.input)
    except (AttributeError, ValueError):
        return []


def layer_activation(model: keras.Model, layer) -> str:
    """The nonlinearity a hidden `Dense` layer of `model` feeds: its own, or the next layer's."""
    own = _name_of(layer.activation)
    if own != "linear":
        return own
    consumers = [other for other in model.layers
                 if any(compat.producer(tensor)[0] is layer for tensor in _inputs_of(other))]
    if len(consumers) == 1:
        consumer = consumers[0]
        kind = type(consumer).__name__
        if kind == "Activation":
            return _name_of(consumer.activation)
        if kind == "ReLU":
            return "relu"
        if kind == "SlopedSigmoid" and float(consumer.beta) == 1.0:
            return "sigmoid"
    raise ValueError(
        f"layer {layer.name!r} has no nonlinearity of its own that pre-training can match "
        "(batch normalisation, maxout or a sloped sigmoid follows it); pre-training needs "
        "Dense layers followed by sigmoid, tanh or ReLU, e.g. mlp(..., activation='sigmoid', "
        "batch_norm=False)"
    )


def pretrain_model(model: keras.Model, x, unit: str = "rbm", *, y=None, epochs: int = 5,
                   batch_size: int = 64, learning_rate: float = 0.01,
                   propagate: str = "probabilities", seed: int = 0, unit_options=None,
                   verbose=0) -> PretrainResult:
    """Greedily pre-train `model`'s hidden `Dense` stack on `x` and copy the weights in.

    The model's own input pipeline up to the first hidden layer (flattening, and anything
    before it that is not trained) is applied to `x` first, so the first unit sees what the
    first hidden layer sees.
    """
    layers = stack_layers(model)
    first_input = layers[0].input
    feed = keras.Model(model.inputs, first_input)
    representation = np.asarray(feed.predict(np.asarray(x), batch_size=1024, verbose=0))
    result = greedy_pretrain(
        representation, [layer.units for layer in layers], unit, y=y,
        activations=[layer_activation(model, layer) for layer in layers], epochs=epochs,
        batch_size=batch_size, learning_rate=learning_rate, propagate=propagate, seed=seed,
        unit_options=unit_options, verbose=verbose, names=[layer.name for layer in layers],
    )
    for layer, trained in zip(layers, result.units):
        kernel, bias = trained.dense_weights()
        layer.set_weights([np.asarray(kernel), np.asarray(bias)])
    return result


def set_finetune_mode(model: keras.Model, mode: str, layers: Sequence[str] | None = None):
    """Fine-tune everything (`"all"`) or only what is above the pre-trained stack (`"top"`).

    `layers` names the pre-trained layers (default: `stack_layers(model)`). Recompile the model
    afterwards: Keras reads `trainable` when it compiles.
    """
    if mode not in FINETUNE_MODES:
        raise ValueError(f"finetune must be one of {', '.join(FINETUNE_MODES)}; got {mode!r}")
    names = set(layers) if layers is not None else {layer.name for layer in stack_layers(model)}
    for layer in model.layers:
        if layer.name in names:
            layer.trainable = mode == "all"
    return model


class SupervisedUnit:
    """Greedy supervised pre-training (Bengio et al. 2007): one hidden layer plus a temporary
    softmax classifier, trained with labels; the classifier is discarded afterwards."""

    def __init__(self, input_dim, units, *, activation="sigmoid", seed=0, num_classes=None):
        self.input_dim, self.units, self.activation, self.seed = input_dim, units, activation, seed
        self.num_classes = num_classes
        self.hidden = keras.layers.Dense(
            units, activation=activation, name="hidden",
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed))
        self.hidden.build((None, input_dim))

    def fit(self, x, y=None, *, epochs, batch_size, learning_rate, verbose=0):
        if y is None:
            raise ValueError("the supervised unit trains with labels: pass y")
        y = np.asarray(y)
        num_classes = self.num_classes or int(y.max()) + 1
        inputs = keras.Input((self.input_dim,))
        outputs = keras.layers.Dense(num_classes, activation="softmax")(self.hidden(inputs))
        model = keras.Model(inputs, outputs)
        model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose)
        return history.history

    def transform(self, x, *, sample=False):
        h = np.asarray(self.hidden(np.asarray(x, dtype="float32")))
        if sample and self.activation != "sigmoid":
            raise ValueError(f"samples need sigmoid units (probabilities); this layer is "
                             f"{self.activation!r}: propagate probabilities instead")
        if sample:
            rng = np.random.default_rng(self.seed)
            return (rng.random(h.shape) < h).astype("float32")
        return h

    def dense_weights(self):
        kernel, bias = self.hidden.get_weights()
        return kernel, bias


@register_unit("supervised", supervised=True)
def _supervised_unit(input_dim, units, *, activation="sigmoid", seed=0, **options):
    return SupervisedUnit(input_dim, units, activation=activation, seed=seed, **options)
