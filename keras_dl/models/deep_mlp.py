"""Deep multilayer perceptrons of equal-width hidden layers: the network of the initialisation
and vanishing-gradient experiments.

Lecture 004 (after the CS231n figures and Glorot & Bengio 2010) looks at "a 10-layer
fully-connected network, 500 neurons per layer, tanh activation function": with weights drawn
from [−0.01, 0.01] its activations collapse towards zero layer after layer, with Xavier/Glorot
initialisation they keep their spread, and ReLU needs He's initialisation instead. Lectures 000
and 002 explain why deep sigmoid networks hardly train (each layer multiplies the backpropagated
error by σ'(z) ≤ ¼), and name the remedies: better initialisation, batch normalisation
(Ioffe & Szegedy 2015) and residual links (He et al. 2016). This builder makes each of those
one argument.
"""

from __future__ import annotations

import numbers

import keras

from keras_dl.models._common import (
    check_bool,
    check_choice,
    check_input_shape,
    check_positive_int,
    classifier_head,
)
from keras_dl.registry import register_model

ACTIVATIONS = ("tanh", "sigmoid", "relu")
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_normal", "small_uniform")
SMALL_UNIFORM_LIMIT = 0.01  # lecture 004: "init range [-0.01, 0.01]"


def kernel_and_bias_initializers(initializer, seed=None):
    """(kernel, bias) initializers for one of `INITIALIZERS`.

    "small_uniform" is the lecture's "prehistoric" scheme, weights drawn from U(−0.01, 0.01),
    as in the CS231n experiment the lecture shows; the others draw the kernel with Keras'
    Glorot (variance 2 / (n_in + n_out), Glorot & Bengio 2010) or He (variance 2 / n_in,
    He et al. 2015) initializer. Biases start at zero in every scheme: the CS231n network has
    none, and a bias drawn from U(−0.01, 0.01) would put a floor of 0.0058 (its standard
    deviation) under the collapse of the activations that the experiment shows.
    """
    check_choice("initializer", initializer, INITIALIZERS)
    if initializer == "small_uniform":
        limit = SMALL_UNIFORM_LIMIT
        return keras.initializers.RandomUniform(-limit, limit, seed=seed), keras.initializers.Zeros()
    kernel = {
        "glorot_uniform": keras.initializers.GlorotUniform,
        "glorot_normal": keras.initializers.GlorotNormal,
        "he_normal": keras.initializers.HeNormal,
    }[initializer](seed=seed)
    return kernel, keras.initializers.Zeros()


def _hidden_layer(x, index, *, width, activation, initializer, batch_norm, residual, seed):
    """`Dense → [BatchNormalization] → activation`, plus `x` when `residual` and the widths
    match (an identity skip: He et al. 2016); layers named `hidden{index}_...`."""
    prefix = f"hidden{index}"
    kernel_init, bias_init = kernel_and_bias_initializers(
        initializer, None if seed is None else seed + index)
    skip = x
    x = keras.layers.Dense(width, use_bias=not batch_norm, kernel_initializer=kernel_init,
                           bias_initializer=bias_init, name=f"{prefix}_dense")(x)
    if batch_norm:  # between the linear map and the nonlinearity (lecture 004); β is the bias
        x = keras.layers.BatchNormalization(name=f"{prefix}_bn")(x)
    x = keras.layers.Activation(activation, name=f"{prefix}_act")(x)
    if residual and skip.shape[-1] == width:
        x = keras.layers.Add(name=f"{prefix}_add")([skip, x])
    return x


@register_model(
    family="mlp",
    search_space=lambda hp: {
        "depth": hp.Int("depth", 2, 10),
        "width": hp.Int("width", 32, 512, step=32),
        "activation": hp.Choice("activation", list(ACTIVATIONS)),
        "initializer": hp.Choice("initializer", list(INITIALIZERS)),
        "batch_norm": hp.Boolean("batch_norm"),
        "residual": hp.Boolean("residual"),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "num_classes": 3, "depth": 3, "width": 5,
                  "batch_norm": True, "residual": True},
    train_defaults={"epochs": 10, "batch_size": 100, "learning_rate": 1e-3},
)
def deep_mlp(
    *,
    input_shape=(28, 28, 1),
    num_classes=10,
    depth=10,
    width=500,
    activation="tanh",
    initializer="glorot_uniform",
    batch_norm=False,
    residual=False,
    include_top=True,
    classifier_activation="softmax",
    seed=None,
    name="deep_mlp",
):
    """Deep MLP of `depth` equal-width hidden layers (lecture 004's 10 × 500 tanh network).

    Hidden layer i is `hidden{i}_dense → [hidden{i}_bn] → hidden{i}_act`, and with `residual`
    an identity skip adds the layer's input to its output (`hidden{i}_add`) wherever the widths
    match: every hidden layer but the first, and the first too when the flattened input has
    `width` values. With batch normalisation the dense layers have no bias (BN's β replaces it).

    Args:
        input_shape: shape of one example, without the batch axis (flattened first).
        num_classes: number of classes of the `predictions` layer.
        depth: number of hidden layers.
        width: units per hidden layer.
        activation: "tanh", "sigmoid" or "relu".
        initializer: "glorot_uniform" (Glorot & Bengio 2010, Var W = 2 / (n_in + n_out)),
            "glorot_normal", "he_normal" (He et al. 2015, Var W = 2 / n_in) or "small_uniform"
            (weights from U(−0.01, 0.01), the lecture's "prehistoric" scheme); biases start
            at zero;
            the `predictions` layer is initialised the same way.
        batch_norm: batch normalisation before each hidden nonlinearity (Ioffe & Szegedy 2015).
        residual: identity skip connections around the hidden layers (He et al. 2016).
        include_top: add the `predictions` layer; without it the model outputs the last hidden
            layer.
        classifier_activation: "softmax" for probabilities, None for logits.
        seed: seed of the initializers (layer i uses `seed + i`; None: Keras' global seed).
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("deep_mlp", activation="sigmoid", depth=10, width=128,
                                  batch_norm=True)
    ```
    """
    input_shape = check_input_shape(input_shape)
    depth = check_positive_int("depth", depth)
    width = check_positive_int("width", width)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("initializer", initializer, INITIALIZERS)
    batch_norm = check_bool("batch_norm", batch_norm)
    residual = check_bool("residual", residual)
    if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)
                             or seed < 0):
        raise ValueError(f"seed must be None or a non-negative integer, got {seed!r}")

    inputs = keras.Input(shape=input_shape, name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    for index in range(1, depth + 1):
        x = _hidden_layer(x, index, width=width, activation=activation, initializer=initializer,
                          batch_norm=batch_norm, residual=residual, seed=seed)
    head = {}
    if include_top:  # drawn only when used: an unseeded initializer consumes the global seed
        kernel_init, bias_init = kernel_and_bias_initializers(initializer, seed)
        head = {"kernel_initializer": kernel_init, "bias_initializer": bias_init}
    x = classifier_head(x, num_classes=num_classes, include_top=include_top, pooling=None,
                        classifier_activation=classifier_activation, **head)
    return keras.Model(inputs, x, name=name)
