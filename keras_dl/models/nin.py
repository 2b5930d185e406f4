"""Network in Network (Lin, Chen & Yan, ICLR 2014).

Each "mlpconv" block is an ordinary convolution followed by two 1×1 convolutions — a small
multilayer perceptron slid over the image — with ReLU after each. The classifier is global
average pooling of a last mlpconv layer with one map per class, so there is no fully
connected layer at all. This is the paper's CIFAR-10 network (section 4.2 and its released
Caffe definition): mlpconv 5×5-192 / 160 / 96, 3×3/2 max pooling, dropout 0.5; mlpconv
5×5-192 / 192 / 192, 3×3/2 average pooling, dropout 0.5; mlpconv 3×3-192 / 192 / classes;
global average pooling. 966,986 parameters for 10 classes on 32×32×3.

It is a small-image network as published: 28×28 Fashion-MNIST runs it unchanged (pooling
with "same" padding gives 14×14 and 7×7 maps).
"""

from __future__ import annotations

import keras

from keras_dl.models._common import check_fraction, class_map_head
from keras_dl.models.blocks import conv_unit, image_input, scaled
from keras_dl.registry import register_model

BLOCKS = ((5, (192, 160, 96)), (5, (192, 192, 192)), (3, (192, 192, None)))


@register_model(
    family="cnn",
    search_space=lambda hp: {
        "dropout": hp.Choice("dropout", [0.0, 0.5]),
        "batch_norm": hp.Boolean("batch_norm"),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [64, 128]),
    },
    smoke_kwargs={"input_shape": (12, 12, 1), "num_classes": 3, "width_multiplier": 0.0625},
    train_defaults={"epochs": 30, "batch_size": 128, "learning_rate": 1e-3},
    default_params=966_986,
)
def nin(*, input_shape=(32, 32, 3), num_classes=10, include_top=True, pooling=None,
        classifier_activation="softmax", name="nin", width_multiplier=1.0, dropout=0.5,
        batch_norm=False):
    """Network in Network (Lin et al. 2014): three mlpconv blocks and global average pooling.

    Args:
        input_shape: `(height, width, channels)`; 32×32×3 (CIFAR-10) in the paper.
        num_classes: number of classes: the last 1×1 convolution's map count.
        include_top: end with the class maps and their global average (the classifier);
            without it the model outputs the third block's first two layers' maps.
        pooling: with `include_top=False`, None (feature maps), "avg" or "max".
        classifier_activation: "softmax" for probabilities, None for logits.
        name: model name.
        width_multiplier: factor on every hidden channel count.
        dropout: dropout after the first two blocks (0.5 in the paper).
        batch_norm: batch normalisation after each convolution (not in the paper).

    Example:
    ```python
    model = keras_dl.create_model("nin", input_shape=(28, 28, 1), num_classes=10)
    ```

    Reference:
        Lin, Chen, Yan. "Network In Network", ICLR 2014.
    """
    _, _, inputs = image_input(input_shape, num_classes, width_multiplier)
    dropout = check_fraction("dropout", dropout)
    x = inputs
    for block, (size, widths) in enumerate(BLOCKS, start=1):
        for index, filters in enumerate(widths, start=1):
            if filters is None:  # the class maps
                if not include_top:
                    break
                x = keras.layers.Conv2D(num_classes, 1, name=f"mlpconv{block}_{index}_conv")(x)
                continue
            x = conv_unit(x, scaled(filters, width_multiplier), size if index == 1 else 1,
                          batch_norm=batch_norm, kernel_initializer="glorot_uniform",
                          name=f"mlpconv{block}_{index}")
        if block == 1:
            x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
        elif block == 2:
            x = keras.layers.AveragePooling2D(3, strides=2, padding="same", name="pool2")(x)
        if block < 3 and dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout{block}")(x)
    x = class_map_head(x, include_top=include_top, pooling=pooling,
                       classifier_activation=classifier_activation)
    return keras.Model(inputs, x, name=name)
