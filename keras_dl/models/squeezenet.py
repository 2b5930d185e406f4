"""SqueezeNet 1.0 and 1.1 (Iandola, Han, Moskewicz, Ashraf, Dally & Keutzer, "SqueezeNet:
AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size", 2016).

Eight fire modules (a 1×1 squeeze layer feeding concatenated 1×1 and 3×3 expand layers)
between a convolutional stem and a final 1×1 convolution with one map per class, ReLU and
global average pooling; dropout 0.5 before it. 1.0 (the paper's Table 1) has a 7×7/2 stem
with 96 filters and pools after conv1, fire4 and fire8; 1.1 (the authors' later release) a
3×3/2 stem with 64 filters and pools after conv1, fire3 and fire5, for 2.4× less computation
at the same accuracy. At 224×224 and 1000 classes: 1,248,424 and 1,235,496 parameters, as
torchvision. Pooling uses "valid" padding (torchvision rounds up; same parameters).

*Small-image variant* (`small_inputs`, automatic under 64 pixels): a 3×3/1 stem, so a 28×28
image keeps 3×3 maps or more after the three poolings.
"""

from __future__ import annotations

import keras

from keras_dl.models._common import check_fraction, class_map_head, variant
from keras_dl.models.blocks import conv_unit, image_input, resolve_small_inputs, scaled
from keras_dl.registry import register_model

# (squeeze, expand) of fire2 ... fire9; the paper's 1×1 and 3×3 expand counts are equal
FIRES = ((16, 64), (16, 64), (32, 128), (32, 128), (48, 192), (48, 192), (64, 256), (64, 256))
VERSIONS = {
    "1_0": {"stem": (96, 7), "pool_after": (1, 4, 8)},
    "1_1": {"stem": (64, 3), "pool_after": (1, 3, 5)},
}


def fire_module(x, squeeze, expand_1x1, expand_3x3, *, name):
    """SqueezeNet's fire module (Iandola et al. 2016, Fig. 1).

    A 1×1 "squeeze" layer with `squeeze` filters, then an "expand" layer of `expand_1x1` 1×1
    and `expand_3x3` 3×3 filters whose outputs are concatenated; ReLU after each.
    """
    def unit(tensor, filters, size, part):
        return conv_unit(tensor, filters, size, batch_norm=False, name=f"{name}_{part}",
                         kernel_initializer="he_uniform")

    squeezed = unit(x, squeeze, 1, "squeeze")
    return keras.layers.Concatenate(name=f"{name}_concat")(
        [unit(squeezed, expand_1x1, 1, "expand1x1"), unit(squeezed, expand_3x3, 3, "expand3x3")])


def _squeezenet(version, *, input_shape=(224, 224, 3), num_classes=1000, include_top=True,
                pooling=None, classifier_activation="softmax", name=None, small_inputs=None,
                width_multiplier=1.0, dropout=0.5):
    """SqueezeNet `version` ("1_0" or "1_1", `VERSIONS`)."""
    height, width, inputs = image_input(input_shape, num_classes, width_multiplier)
    dropout = check_fraction("dropout", dropout)
    small = resolve_small_inputs(small_inputs, height, width)
    spec = VERSIONS[version]
    stem_filters, stem_size = spec["stem"]
    if small:
        x = conv_unit(inputs, scaled(stem_filters, width_multiplier), 3, batch_norm=False,
                      kernel_initializer="he_uniform", name="conv1")
    else:
        x = conv_unit(inputs, scaled(stem_filters, width_multiplier), stem_size, strides=2,
                      padding="valid", batch_norm=False, kernel_initializer="he_uniform",
                      name="conv1")
    pool_padding = "same" if small else "valid"
    x = keras.layers.MaxPooling2D(3, strides=2, padding=pool_padding, name="pool1")(x)
    for number, (squeeze, expand) in enumerate(FIRES, start=2):
        x = fire_module(x, scaled(squeeze, width_multiplier), scaled(expand, width_multiplier),
                        scaled(expand, width_multiplier), name=f"fire{number}")
        if number in spec["pool_after"]:
            x = keras.layers.MaxPooling2D(3, strides=2, padding=pool_padding,
                                          name=f"pool{number}")(x)
    if include_top:
        if dropout:
            x = keras.layers.Dropout(dropout, name="dropout")(x)
        x = keras.layers.Conv2D(num_classes, 1, activation="relu", name="conv10")(x)
    x = class_map_head(x, include_top=include_top, pooling=pooling,
                       classifier_activation=classifier_activation)
    return keras.Model(inputs, x, name=name)


_DOC = """SqueezeNet {title} (Iandola et al. 2016): eight fire modules.

    Args:
        input_shape: `(height, width, channels)`; 224×224×3 in the paper.
        num_classes: number of classes: the maps of the final 1×1 convolution.
        include_top: add dropout, conv10, global average pooling and the `predictions` layer.
        pooling: with `include_top=False`, None (fire9's maps), "avg" or "max".
        classifier_activation: "softmax" for probabilities, None for logits.
        name: model name.
        small_inputs: True for the small-image variant (3×3/1 stem); None chooses it for
            inputs under 64 pixels a side.
        width_multiplier: factor on every channel count.
        dropout: dropout before conv10 (0.5).

    Example:
    ```python
    model = keras_dl.create_model("{name}", input_shape=(28, 28, 1), num_classes=10)
    ```

    Reference:
        Iandola et al. "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and
        <0.5MB model size", arXiv:1602.07360, 2016.
    """


def _register(version, default_params):
    name = f"squeezenet{version}"
    return register_model(
        name,
        family="cnn",
        search_space=lambda hp: {
            "dropout": hp.Choice("dropout", [0.0, 0.5]),
            "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
            "batch_size": hp.Choice("batch_size", [64, 128]),
        },
        smoke_kwargs={"input_shape": (16, 16, 1), "num_classes": 3, "width_multiplier": 0.125},
        train_defaults={"epochs": 30, "batch_size": 128, "learning_rate": 1e-3},
        default_params=default_params,
    )(variant(_squeezenet, name, _DOC.format(title=version.replace("_", "."), name=name),
              fixed={"version": version}))


squeezenet1_0 = _register("1_0", 1_248_424)
squeezenet1_1 = _register("1_1", 1_235_496)
