"""VGG-11/13/16/19 (Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale
Image Recognition", ICLR 2015, Table 1 configurations A, B, D, E).

Stacks of 3×3 convolutions (stride 1, "same" padding, ReLU) in five stages separated by 2×2
max pooling, then FC-4096, FC-4096 (ReLU, dropout 0.5) and the classifier. At 224×224 and
1000 classes: VGG-11 132,863,336, VGG-13 133,047,848, VGG-16 138,357,544, VGG-19 143,667,240
parameters, the counts of `keras.applications.VGG16/19` and torchvision.

Two stacked 3×3 layers see a 5×5 field and three a 7×7 one, with fewer parameters and more
non-linearities than one large kernel (the paper's section 2.3; lecture 004).

*Small-image variant* (`small_inputs`, automatic under 64 pixels): the same convolutional
stages on a 32×32 input (28×28 images are zero-padded to 32×32, leaving a 1×1×512 map after
the fifth pooling), a 512-unit fully connected pair instead of 4096 (`fc_units`), as the usual
CIFAR adaptations do. `batch_norm=True` adds batch normalisation after every convolution
(torchvision's `vgg16_bn`), which the small variant needs to train from scratch with Adam.
"""

from __future__ import annotations

import keras

from keras_dl.models._common import check_fraction, check_positive_int, classifier_head, variant
from keras_dl.models.blocks import conv_unit, image_input, pad_to, resolve_small_inputs, scaled
from keras_dl.registry import register_model

# convolutions per stage (channels 64, 128, 256, 512, 512)
CONFIGS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
STAGE_CHANNELS = (64, 128, 256, 512, 512)


def _vgg(depth, *, input_shape=(224, 224, 3), num_classes=1000, include_top=True, pooling=None,
         classifier_activation="softmax", name=None, small_inputs=None, width_multiplier=1.0,
         batch_norm=False, fc_units=None, dropout=0.5):
    """VGG-`depth` (`CONFIGS[depth]` convolutions per stage)."""
    height, width, inputs = image_input(input_shape, num_classes, width_multiplier)
    dropout = check_fraction("dropout", dropout)
    small = resolve_small_inputs(small_inputs, height, width)
    if fc_units is None:
        fc_units = 512 if small else 4096
    check_positive_int("fc_units", fc_units)
    if min(height, width) < 32 and not small:
        raise ValueError(f"VGG needs inputs of at least 32×32 (got {height}×{width}); "
                         "use small_inputs=True to zero-pad smaller images")
    x = pad_to(inputs, 32, height, width) if small else inputs
    for stage, (convs, filters) in enumerate(zip(CONFIGS[depth], STAGE_CHANNELS), start=1):
        for number in range(1, convs + 1):
            x = conv_unit(x, scaled(filters, width_multiplier), 3, batch_norm=batch_norm,
                          kernel_initializer="glorot_uniform",
                          name=f"block{stage}_conv{number}")
        x = keras.layers.MaxPooling2D(2, strides=2, name=f"block{stage}_pool")(x)
    if include_top:
        x = keras.layers.Flatten(name="flatten")(x)
        for index in (1, 2):
            x = keras.layers.Dense(scaled(fc_units, width_multiplier), activation="relu",
                                   name=f"fc{index}")(x)
            if dropout:
                x = keras.layers.Dropout(dropout, name=f"fc{index}_dropout")(x)
    x = classifier_head(x, num_classes=num_classes, include_top=include_top, pooling=pooling,
                        classifier_activation=classifier_activation)
    return keras.Model(inputs, x, name=name)


_DOC = """VGG-{depth} (Simonyan & Zisserman 2015): 3×3 convolutions {config} per stage.

    Args:
        input_shape: `(height, width, channels)`; 224×224×3 in the paper.
        num_classes: number of classes.
        include_top: add the two fully connected layers and the `predictions` layer.
        pooling: with `include_top=False`, None (feature maps), "avg" or "max".
        classifier_activation: "softmax" for probabilities, None for logits.
        name: model name.
        small_inputs: True for the 32×32 variant (smaller images zero-padded, `fc_units`
            512); None chooses it for inputs under 64 pixels a side.
        width_multiplier: factor on every channel and unit count (1.0 in the paper).
        batch_norm: batch normalisation after each convolution (not in the paper).
        fc_units: units of the two hidden fully connected layers (None: 4096, or 512 for the
            small variant).
        dropout: dropout after each of them (0.5 in the paper).

    Example:
    ```python
    model = keras_dl.create_model("{name}", input_shape=(28, 28, 1), num_classes=10,
                                  batch_norm=True)
    ```

    Reference:
        Simonyan, Zisserman. "Very Deep Convolutional Networks for Large-Scale Image
        Recognition", ICLR 2015.
    """


def _register(depth, default_params):
    name = f"vgg{depth}"
    return register_model(
        name,
        family="cnn",
        search_space=lambda hp: {
            "batch_norm": hp.Boolean("batch_norm", default=True),
            "dropout": hp.Choice("dropout", [0.0, 0.5]),
            "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
            "batch_size": hp.Choice("batch_size", [64, 128]),
        },
        smoke_kwargs={"input_shape": (28, 28, 1), "num_classes": 3, "width_multiplier": 0.0625},
        train_defaults={"epochs": 30, "batch_size": 128, "learning_rate": 1e-3},
        default_params=default_params,
    )(variant(_vgg, name, _DOC.format(depth=depth, config=CONFIGS[depth], name=name),
              fixed={"depth": depth}))


vgg11 = _register(11, 132_863_336)
vgg13 = _register(13, 133_047_848)
vgg16 = _register(16, 138_357_544)
vgg19 = _register(19, 143_667_240)
