"""AlexNet (Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep Convolutional
Neural Networks", NIPS 2012), in single-tower form.

Five convolutions (11×11/4, 5×5, 3×3, 3×3, 3×3 with 96, 256, 384, 384, 256 filters), ReLU,
local response normalisation after the first two, 3×3/2 overlapping max pooling after conv1,
conv2 and conv5, then FC-4096, FC-4096 with dropout 0.5 and the classifier.

The paper split every layer across two GPUs: conv2, conv4 and conv5 saw only the half of the
previous layer's maps on their own GPU (grouped convolutions, `groups=2`), while conv3 and
the fully connected layers crossed over. That is the 60,965,224-parameter network ("60
million parameters"). The single-tower form used here (`groups=1`) connects every map:
62,378,344 parameters at 224×224 and 1000 classes; `groups=2` rebuilds the two-GPU
connectivity. torchvision's AlexNet is the later "one weird trick" variant (Krizhevsky 2014)
with 64, 192, 384, 256, 256 filters and no LRN: `filters=(64, 192, 384, 256, 256),
lrn=False` gives its 61,100,840 parameters. The 224×224 input is zero-padded by 2 before
conv1 (the paper's 227×227 arithmetic, as torchvision pads), so conv5 pools to 6×6×256.

*Small-image variant* (`small_inputs`, automatic under 64 pixels): conv1 becomes 5×5 with
stride 1 (an 11×11/4 filter would leave nothing of a 28×28 image); the rest is unchanged and
the fully connected layers take whatever map remains (2×2×256 for 28×28).
"""

from __future__ import annotations

import keras

from keras_dl.layers import LocalResponseNormalization
from keras_dl.models._common import (
    check_fraction,
    check_positive_int,
    check_units,
    classifier_head,
)
from keras_dl.models.blocks import image_input, resolve_small_inputs, scaled
from keras_dl.registry import register_model


@register_model(
    family="cnn",
    search_space=lambda hp: {
        "fc_units": hp.Choice("fc_units", [512, 1024, 4096]),
        "dropout": hp.Choice("dropout", [0.0, 0.5]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [64, 128]),
    },
    smoke_kwargs={"input_shape": (28, 28, 1), "num_classes": 3, "width_multiplier": 0.0625},
    train_defaults={"epochs": 30, "batch_size": 128, "learning_rate": 1e-3},
    default_params=62_378_344,
)
def alexnet(*, input_shape=(224, 224, 3), num_classes=1000, include_top=True, pooling=None,
            classifier_activation="softmax", name="alexnet", small_inputs=None,
            width_multiplier=1.0, filters=(96, 256, 384, 384, 256), groups=1, lrn=True,
            fc_units=4096, dropout=0.5):
    """AlexNet (Krizhevsky et al. 2012), single tower; `groups=2` for the two-GPU connectivity.

    Args:
        input_shape: `(height, width, channels)`; 224×224×3 in the paper.
        num_classes: number of classes.
        include_top: add the fully connected layers and the `predictions` layer.
        pooling: with `include_top=False`, None (conv5's pooled maps), "avg" or "max".
        classifier_activation: "softmax" for probabilities, None for logits.
        name: model name.
        small_inputs: True for the small-image variant (5×5/1 conv1); None chooses it for
            inputs under 64 pixels a side.
        width_multiplier: factor on every channel and unit count.
        filters: the five convolutions' filter counts.
        groups: 1 (single tower) or 2 (the paper's split of conv2, conv4, conv5 across GPUs).
        lrn: local response normalisation after conv1 and conv2.
        fc_units: units of the two hidden fully connected layers (4096).
        dropout: dropout before each of them (0.5).

    Example:
    ```python
    model = keras_dl.create_model("alexnet", input_shape=(28, 28, 1), num_classes=10,
                                  fc_units=1024)
    ```

    Reference:
        Krizhevsky, Sutskever, Hinton. NIPS 2012; Krizhevsky, "One weird trick for
        parallelizing convolutional neural networks", arXiv:1404.5997, 2014.
    """
    height, width, inputs = image_input(input_shape, num_classes, width_multiplier)
    check_positive_int("fc_units", fc_units)
    dropout = check_fraction("dropout", dropout)
    if len(check_units("filters", filters)) != 5:
        raise ValueError(f"filters must give the 5 convolutions' filter counts, got {filters!r}")
    if groups not in (1, 2):
        raise ValueError(f"groups must be 1 (single tower) or 2 (two GPUs), got {groups!r}")
    small = resolve_small_inputs(small_inputs, height, width)
    f = [scaled(c, width_multiplier) for c in filters]
    if groups == 2 and any(c % 2 for c in f):
        raise ValueError(f"groups=2 needs even filter counts, got {f}")

    def conv(tensor, index, size, strides=1, padding="same", grouped=False):
        return keras.layers.Conv2D(f[index - 1], size, strides=strides, padding=padding,
                                   activation="relu", groups=groups if grouped else 1,
                                   name=f"conv{index}")(tensor)

    def pool(tensor, index):
        return keras.layers.MaxPooling2D(3, strides=2, name=f"pool{index}")(tensor)

    def normalise(tensor, index):
        return LocalResponseNormalization(name=f"lrn{index}")(tensor) if lrn else tensor

    if small:
        x = conv(inputs, 1, 5)
    else:
        x = keras.layers.ZeroPadding2D(2, name="conv1_pad")(inputs)
        x = conv(x, 1, 11, strides=4, padding="valid")
    x = pool(normalise(x, 1), 1)
    x = pool(normalise(conv(x, 2, 5, grouped=True), 2), 2)
    x = conv(x, 3, 3)
    x = conv(x, 4, 3, grouped=True)
    x = pool(conv(x, 5, 3, grouped=True), 5)
    if include_top:
        x = keras.layers.Flatten(name="flatten")(x)
        for index in (6, 7):
            if dropout:
                x = keras.layers.Dropout(dropout, name=f"fc{index}_dropout")(x)
            x = keras.layers.Dense(scaled(fc_units, width_multiplier), activation="relu",
                                   name=f"fc{index}")(x)
    x = classifier_head(x, num_classes=num_classes, include_top=include_top, pooling=pooling,
                        classifier_activation=classifier_activation)
    return keras.Model(inputs, x, name=name)
