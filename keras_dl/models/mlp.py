"""Multilayer perceptrons: the lecture network and every knob the lectures turn on it.

Lecture 001 (Aalto) trains `y = softmax(W3 h2 + b3)`, `h2 = relu(W2 h1 + b2)`,
`h1 = relu(W1 x + b1)` with `W1` of size 225×784 on 28×28 images; lecture 004 (Poznań) adds the
sigmoid with slope β, tanh, leaky ReLU and maxout units, "prehistoric" small-uniform
initialisation against Xavier/Glorot and He, batch normalisation, dropout, L1/L2 weight decay
and input noise.
"""

from __future__ import annotations

import keras

from keras_dl.layers import Maxout, SlopedSigmoid
from keras_dl.models._common import (
    check_choice,
    check_fraction,
    check_input_shape,
    check_non_negative,
    check_positive_int,
    check_positive_number,
    check_units,
    classifier_head,
)
from keras_dl.registry import register_model

ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "maxout")
INITIALIZERS = ("small_uniform", "glorot", "he", "orthogonal")


def _initializers(initializer, small_uniform_range, seed):
    """(kernel, bias) initializers for one of `INITIALIZERS`."""
    if initializer == "small_uniform":
        # Prehistoric: weights *and biases* drawn from a small interval (lecture 004).
        return (
            keras.initializers.RandomUniform(-small_uniform_range, small_uniform_range, seed=seed),
            keras.initializers.RandomUniform(-small_uniform_range, small_uniform_range, seed=seed),
        )
    kernel = {
        "glorot": keras.initializers.GlorotUniform,  # Glorot & Bengio 2010: uniform, fan average
        "he": keras.initializers.HeNormal,  # He et al. 2015: normal, variance 2 / fan_in
        "orthogonal": keras.initializers.Orthogonal,  # Saxe et al. 2014
    }[initializer](seed=seed)
    return kernel, keras.initializers.Zeros()


def _activation(x, activation, *, units, sigmoid_slope, leaky_relu_slope, prefix):
    if activation == "sigmoid":
        return SlopedSigmoid(sigmoid_slope, name=f"{prefix}_act")(x)
    if activation == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=leaky_relu_slope, name=f"{prefix}_act")(x)
    if activation == "maxout":
        return Maxout(units, name=f"{prefix}_maxout")(x)
    return keras.layers.Activation(activation, name=f"{prefix}_act")(x)


@register_model(
    family="mlp",
    search_space=lambda hp: {
        "hidden_units": [hp.Int("width", 32, 512, step=32)] * hp.Int("depth", 1, 4),
        "activation": hp.Choice("activation", ["relu", "tanh", "leaky_relu", "maxout"]),
        "batch_norm": hp.Boolean("batch_norm"),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1),
        "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [32, 64, 128]),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "num_classes": 3, "hidden_units": (6, 4)},
    train_defaults={"epochs": 30, "batch_size": 64, "learning_rate": 1e-3},
)
def mlp(
    *,
    input_shape=(28, 28, 1),
    num_classes=10,
    hidden_units=(225, 225),
    activation="relu",
    initializer="glorot",
    batch_norm=False,
    dropout=0.0,
    l1=0.0,
    l2=0.0,
    input_noise=0.0,
    sigmoid_slope=1.0,
    leaky_relu_slope=0.1,
    maxout_pieces=2,
    small_uniform_range=0.05,
    include_top=True,
    classifier_activation="softmax",
    seed=None,
    name="mlp",
):
    """Multilayer perceptron (lecture 001's 784-225-...-10 network by default).

    Each hidden layer is `Dense → [BatchNormalization] → activation → [Dropout]`: batch
    normalisation sits between the linear map and the nonlinearity, as Ioffe & Szegedy (2015)
    place it and as the lectures insist (and the dense layer then has no bias: BN's β replaces
    it). The input is flattened first, so any input shape works.

    The lecture gives only the first hidden layer's size (`W1` is 225×784); the second hidden
    layer has 225 units too by default.

    Args:
        input_shape: shape of one example, without the batch axis.
        num_classes: number of classes of the softmax output.
        hidden_units: sizes of the hidden layers, any depth (empty: softmax regression).
        activation: one of "relu", "sigmoid" (with slope `sigmoid_slope`), "tanh",
            "leaky_relu" (`max(αx, x)`, α = `leaky_relu_slope`, 0.1 in the lecture) and
            "maxout" (`maxout_pieces` linear pieces per unit; Goodfellow et al. 2013).
        initializer: "small_uniform" (weights and biases uniform in ±`small_uniform_range`,
            the lecture's "prehistoric" scheme), "glorot" (Glorot & Bengio 2010),
            "he" (He et al. 2015) or "orthogonal" (Saxe et al. 2014).
        batch_norm: batch normalisation before each hidden nonlinearity.
        dropout: dropout rate after each hidden layer (Srivastava et al. 2014).
        l1: L1 weight decay coefficient on every kernel (λ Σ|w|).
        l2: L2 weight decay coefficient on every kernel (λ Σw²).
        input_noise: standard deviation of Gaussian noise added to the inputs during training
            (Sietsma & Dow 1991).
        sigmoid_slope: β in `1 / (1 + exp(-βx))`.
        leaky_relu_slope: α in `max(αx, x)`.
        maxout_pieces: linear pieces per maxout unit.
        small_uniform_range: half-width of the "small_uniform" interval (lecture: 0.01 to 0.1).
        include_top: add the `predictions` layer; without it the model outputs the last hidden
            layer.
        classifier_activation: "softmax" for probabilities, None for logits.
        seed: seed for the initializers (None: drawn from Keras' global seed).
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("mlp", hidden_units=(512, 256), activation="maxout",
                                  batch_norm=True, dropout=0.2)
    ```
    """
    input_shape = check_input_shape(input_shape)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("initializer", initializer, INITIALIZERS)
    hidden_units = check_units("hidden_units", hidden_units)
    dropout = check_fraction("dropout", dropout)
    l1, l2 = check_non_negative("l1", l1), check_non_negative("l2", l2)
    input_noise = check_non_negative("input_noise", input_noise)
    small_uniform_range = check_non_negative("small_uniform_range", small_uniform_range)
    maxout_pieces = check_positive_int("maxout_pieces", maxout_pieces)
    check_positive_number("sigmoid_slope", sigmoid_slope)
    leaky_relu_slope = check_non_negative("leaky_relu_slope", leaky_relu_slope)

    regularizer = keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None
    inputs = keras.Input(shape=input_shape, name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    if input_noise:
        x = keras.layers.GaussianNoise(input_noise, seed=seed, name="input_noise")(x)

    for index, units in enumerate(hidden_units, start=1):
        prefix = f"hidden{index}"
        layer_seed = None if seed is None else seed + index
        kernel_init, bias_init = _initializers(initializer, small_uniform_range, layer_seed)
        width = units * maxout_pieces if activation == "maxout" else units
        x = keras.layers.Dense(
            width,
            use_bias=not batch_norm,
            kernel_initializer=kernel_init,
            bias_initializer=bias_init,
            kernel_regularizer=regularizer,
            name=f"{prefix}_dense",
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"{prefix}_bn")(x)
        x = _activation(
            x, activation, units=units, sigmoid_slope=sigmoid_slope,
            leaky_relu_slope=leaky_relu_slope, prefix=prefix,
        )
        if dropout:
            x = keras.layers.Dropout(dropout, seed=layer_seed, name=f"{prefix}_dropout")(x)

    head = {}
    if include_top:  # drawn only when used: an unseeded initializer consumes the global seed
        kernel_init, bias_init = _initializers(initializer, small_uniform_range, seed)
        head = {"kernel_initializer": kernel_init, "bias_initializer": bias_init,
                "kernel_regularizer": regularizer}
    x = classifier_head(x, num_classes=num_classes, include_top=include_top, pooling=None,
                        classifier_activation=classifier_activation, **head)
    return keras.Model(inputs, x, name=name)

