"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998), as published and in its modern form.

The published network, on a 32×32 input (28×28 digits padded by 2 on each side):

| layer | what                                               | output   | parameters |
|-------|----------------------------------------------------|----------|-----------:|
| C1    | 6 convolutions 5×5, squashing                       | 28×28×6  |        156 |
| S2    | 2×2 sum × trainable coefficient + bias, squashing   | 14×14×6  |         12 |
| C3    | 16 convolutions 5×5 over Table I's subsets of S2    | 10×10×16 |      1,516 |
| S4    | as S2                                              | 5×5×16   |         32 |
| C5    | 120 convolutions 5×5 (fully connected to S4)        | 1×1×120  |     48,120 |
| F6    | 84 units, squashing                                 | 84       |     10,164 |
| out   | one unit per class                                  | 10       |        850 |

The squashing function is `1.7159 tanh(2/3 a)`. The published output layer is a layer of
Euclidean RBF units with fixed ±1 prototypes trained with a MAP criterion; this builder uses
a softmax layer trained by cross-entropy there instead, as every modern reimplementation does,
so the model fits Keras' classifier contract (+10 parameters: 850 instead of 840).

`modern=True` keeps the topology and swaps in what became standard later: ReLU, max pooling,
and an ordinary full convolution at C3 (2,416 parameters; 61,706 in all). `batch_norm=True`
adds batch normalisation (Ioffe & Szegedy 2015) between each of C1, C3, C5 and F6 and its
activation; a normalised layer drops its bias, which the normalisation's shift replaces
(all but the published C3's connection table; with `modern=True`, 62,384 parameters, 452 of
them the normalisation's moving statistics).
"""

from __future__ import annotations

import keras

from keras_dl.layers import ConnectionTableConv2D, ScaledTanh, Subsampling2D
from keras_dl.models._common import classifier_head
from keras_dl.models.blocks import image_input, pad_to
from keras_dl.registry import register_model

FIELD = 32  # LeNet-5's input field; smaller images are zero-padded up to it
# The moving statistics' momentum: PyTorch's default. Keras' 0.99 averages over about 100 steps
# and still holds half its initial statistics after 70: a short run (2 epochs of 9,000 images
# at batch 256) then evaluates at 0.51 test accuracy, against 0.82 with 0.9.
BN_MOMENTUM = 0.9


@register_model(
    family="cnn",
    search_space=lambda hp: {
        "modern": hp.Boolean("modern", default=True),
        "batch_norm": hp.Boolean("batch_norm", default=False),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [32, 64, 128]),
    },
    smoke_kwargs={"input_shape": (28, 28, 1), "num_classes": 3},
    train_defaults={"epochs": 12, "batch_size": 128, "learning_rate": 2e-3},
)
def lenet5(
    *,
    input_shape=(32, 32, 1),
    num_classes=10,
    modern=False,
    batch_norm=None,
    include_top=True,
    pooling=None,
    classifier_activation="softmax",
    name="lenet5",
):
    """LeNet-5 (LeCun et al. 1998): C1-S2-C3-S4-C5-F6-output.

    Inputs smaller than 32×32 (28×28 MNIST and Fashion-MNIST) are zero-padded to 32×32, as
    the paper pads its digits; larger inputs are used as they are (C5's maps are then larger
    than 1×1 and are flattened before F6).

    Args:
        input_shape: `(height, width, channels)`.
        num_classes: number of output classes.
        modern: False for the published network (scaled tanh, trainable sub-sampling, C3's
            connection table); True for ReLU, max pooling and a full C3.
        batch_norm: batch normalisation between a layer and its activation: True for C1, C3,
            C5 and F6, or a list of some of `("c1", "c3", "c5", "f6")`; None or False for
            none.
        include_top: add F6 and the output layer; without it the model outputs C5's maps.
        pooling: with `include_top=False`, None (C5's maps), "avg" or "max" (global pooling).
        classifier_activation: "softmax" for probabilities, None for logits.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("lenet5", input_shape=(28, 28, 1), modern=True)
    ```

    Reference:
        LeCun, Bottou, Bengio, Haffner. "Gradient-Based Learning Applied to Document
        Recognition", Proc. IEEE 86(11):2278-2324, 1998.
    """
    height, width, inputs = image_input(input_shape, num_classes)
    x = pad_to(inputs, FIELD, height, width)

    # The modern variant fuses ReLU into its conv/dense layers (one op, as a hand-written
    # Keras LeNet would); the published one applies LeCun's scaled tanh as its own layer.
    # With batch norm, the activation follows the normalisation instead.
    normalised = _normalised_layers(batch_norm)

    def activate(tensor, layer_name):
        if layer_name in normalised:
            tensor = keras.layers.BatchNormalization(momentum=BN_MOMENTUM,
                                                     name=f"{layer_name}_bn")(tensor)
            if modern:
                return keras.layers.ReLU(name=f"{layer_name}_relu")(tensor)
        return tensor if modern else ScaledTanh(name=f"{layer_name}_tanh")(tensor)

    def subsample(tensor, layer_name):
        if modern:
            return keras.layers.MaxPooling2D(2, name=layer_name)(tensor)
        tensor = Subsampling2D(2, name=layer_name)(tensor)
        return ScaledTanh(name=f"{layer_name}_tanh")(tensor)

    def conv(filters, layer_name):
        return keras.layers.Conv2D(filters, 5, activation=fused(layer_name),
                                   use_bias=layer_name not in normalised, name=layer_name)

    def fused(layer_name):
        return "relu" if modern and layer_name not in normalised else None

    x = activate(conv(6, "c1")(x), "c1")
    x = subsample(x, "s2")
    if modern:
        x = conv(16, "c3")(x)
    else:
        x = ConnectionTableConv2D(5, name="c3")(x)
    x = activate(x, "c3")
    x = subsample(x, "s4")
    x = activate(conv(120, "c5")(x), "c5")
    if include_top:
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(84, activation=fused("f6"), use_bias="f6" not in normalised,
                               name="f6")(x)
        x = activate(x, "f6")
    x = classifier_head(x, num_classes=num_classes, include_top=include_top, pooling=pooling,
                        classifier_activation=classifier_activation)
    return keras.Model(inputs, x, name=name)


NORMALISABLE = ("c1", "c3", "c5", "f6")


def _normalised_layers(batch_norm) -> tuple:
    """The layers `batch_norm` names: all four for True, none for False or None, or a list of
    names."""
    if batch_norm is None:
        return ()
    if isinstance(batch_norm, bool):
        return NORMALISABLE if batch_norm else ()
    names = batch_norm.split(",") if isinstance(batch_norm, str) else batch_norm
    if not isinstance(names, (list, tuple)) or not names or not all(
            isinstance(name, str) and name in NORMALISABLE for name in names):
        raise ValueError(f"batch_norm must be true, false or a list of the layers "
                         f"{', '.join(NORMALISABLE)}, got {batch_norm!r}")
    return tuple(names)
