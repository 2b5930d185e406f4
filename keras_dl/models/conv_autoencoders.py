"""The convolutional autoencoder: stride-2 convolutions down to a feature-map code,
transposed convolutions back up (lecture 004; Masci et al. 2011).

Its layers follow `keras_dl.models.autoencoders`' naming convention (`code`, `decoder_*`,
`reconstruction`), so `encoder(model)` and `decoder(model)` take it apart.
"""

from __future__ import annotations

import keras

from keras_dl.models._common import (
    check_choice,
    check_input_shape,
    check_positive_int,
    check_stride2_stages,
)
from keras_dl.models.autoencoders import ACTIVATIONS, CODE_LAYER, OUTPUT_ACTIVATIONS, glorot
from keras_dl.registry import register_model


@register_model(
    family="autoencoder",
    task="reconstruction",
    loss="binary_crossentropy",
    search_space=lambda hp: {
        "filters": tuple([hp.Choice("filters", [16, 32, 64])] * hp.Int("stages", 1, 2)),
        "code_channels": hp.Choice("code_channels", [4, 8, 16]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "filters": (4, 6), "code_channels": 2},
    train_defaults={"epochs": 20, "batch_size": 128, "learning_rate": 1e-3},
)
def conv_autoencoder(*, input_shape=(28, 28, 1), filters=(32, 64), kernel_size=3,
                     code_channels=8, activation="relu", output_activation="sigmoid",
                     seed=None, name="conv_autoencoder"):
    """Convolutional autoencoder: stride-2 `Conv2D` encoder, `Conv2DTranspose` decoder.

    Each encoder stage halves height and width; the code is a `code_channels`-deep feature
    map (1×1 convolution, `code`) at 1/2^stages of the input size. The decoder mirrors the
    stages with stride-2 transposed convolutions ("fractional/transposed convolutions used on
    the decoder side", lecture 004) and a final 3×3 convolution back to the input channels.
    Height and width must be divisible by 2^len(filters) to come back exactly.

    Args:
        input_shape: (height, width, channels).
        filters: channels of each stride-2 stage.
        kernel_size: kernel size of every (transposed) convolution.
        code_channels: channels of the code feature map.
        activation: hidden activation.
        output_activation: "sigmoid" or "linear".
        seed: initializer seed.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("conv_autoencoder", input_shape=(32, 32, 3))
    ```

    Reference:
        Masci, Meier, Cireşan, Schmidhuber. "Stacked convolutional auto-encoders for
        hierarchical feature extraction", ICANN 2011; Dumoulin & Visin. "A guide to
        convolution arithmetic for deep learning", 2016 (transposed convolutions).
    """
    input_shape = check_input_shape(input_shape, rank=3)
    filters = check_stride2_stages(input_shape, filters)
    kernel_size = check_positive_int("kernel_size", kernel_size)
    code_channels = check_positive_int("code_channels", code_channels)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    inputs = keras.Input(input_shape, name="inputs")
    x = inputs
    for index, width in enumerate(filters, start=1):
        x = keras.layers.Conv2D(width, kernel_size, strides=2, padding="same",
                                activation=activation, kernel_initializer=glorot(seed, index),
                                name=f"encoder_conv{index}")(x)
    x = keras.layers.Conv2D(code_channels, 1, activation=activation,
                            kernel_initializer=glorot(seed, 0), name=CODE_LAYER)(x)
    for index, width in enumerate(reversed(filters), start=1):
        x = keras.layers.Conv2DTranspose(width, kernel_size, strides=2, padding="same",
                                         activation=activation,
                                         kernel_initializer=glorot(seed, 100 + index),
                                         name=f"decoder_deconv{index}")(x)
    outputs = keras.layers.Conv2D(input_shape[-1], 3, padding="same",
                                  activation=output_activation,
                                  kernel_initializer=glorot(seed, 99), name="reconstruction")(x)
    return keras.Model(inputs, outputs, name=name)

