"""Wide Residual Networks (Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016).

WRN-d-k: a 3×3 convolution with 16 filters, three stages of `(d − 4) / 6` pre-activation
basic blocks at 16k/32k/64k channels (BN-ReLU before each convolution, after He et al.'s
"Identity Mappings in Deep Residual Networks", 2016), optional dropout between a block's two
convolutions, a final BN-ReLU, global average pooling and the classifier; WRN-28-10 36.5M,
WRN-16-4 2.7M parameters (the paper's Table 3 / 4). Stochastic depth (Huang et al., ECCV
2016) and `width_multiplier` as for the ResNets (`resnet.py`).
"""

from __future__ import annotations

import keras

from keras_dl.models._common import check_fraction, check_positive_int, classifier_head, variant
from keras_dl.models.blocks import (
    batch_normalization,
    image_input,
    pad_to,
    residual_join,
    residual_stages,
    scaled,
)
from keras_dl.registry import register_model


def preact_basic_block(x, filters, *, strides=1, dropout=0.0, name, survival_probability=None,
                       seed=None):
    """Wide ResNet's block: BN-ReLU-3×3 conv, BN-ReLU-[dropout]-3×3 conv, plus the shortcut.

    Pre-activation ordering (He et al., "Identity Mappings in Deep Residual Networks", 2016);
    when the shape changes, the shortcut is a 1×1 convolution of the pre-activated input
    (Zagoruyko & Komodakis 2016, their reference code). Dropout between the convolutions is
    the paper's "wide-dropout" block.
    """
    pre = batch_normalization(x, f"{name}_preact_bn")
    pre = keras.layers.ReLU(name=f"{name}_preact_relu")(pre)
    residual = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                                   kernel_initializer="he_normal", name=f"{name}_1_conv")(pre)
    residual = batch_normalization(residual, f"{name}_1_bn")
    residual = keras.layers.ReLU(name=f"{name}_1_relu")(residual)
    if dropout:
        residual = keras.layers.Dropout(dropout, name=f"{name}_dropout")(residual)
    residual = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                                   kernel_initializer="he_normal", name=f"{name}_2_conv")(residual)
    if strides != 1 or x.shape[-1] != filters:
        x = keras.layers.Conv2D(filters, 1, strides=strides, use_bias=False,
                                kernel_initializer="he_normal",
                                name=f"{name}_shortcut_conv")(pre)
    return residual_join(x, residual, name=name, survival_probability=survival_probability,
                         seed=seed)


def wide_resnet(*, depth=28, widen_factor=10, input_shape=(32, 32, 3), num_classes=10,
                include_top=True, pooling=None, classifier_activation="softmax", name=None,
                dropout=0.0, width_multiplier=1.0, stochastic_depth=None, seed=None):
    """WRN-d-k (Zagoruyko & Komodakis 2016), any depth `d = 6n + 4` and widening factor `k`.

    A 3×3 conv with 16 filters, three stages of `n` pre-activation basic blocks with 16k,
    32k, 64k filters (stride 2 entering stages 2 and 3), a final BN-ReLU, global average
    pooling and the classifier. Images smaller than 32×32 are zero-padded to 32×32.

    Args:
        depth: `6n + 4` (16, 22, 28, 40 in the paper).
        widen_factor: `k`.
        input_shape, num_classes, include_top, pooling, classifier_activation, name: as for
            every builder.
        dropout: dropout between the two convolutions of each block (0.3 in the paper's
            dropout experiments; 0 by default).
        width_multiplier: extra factor on every channel count (1.0: the paper).
        stochastic_depth: None, or `p_L` of Huang et al.'s linear decay.
        seed: seed of the stochastic-depth layers.

    Example:
    ```python
    model = wide_resnet(depth=16, widen_factor=8, dropout=0.3)
    ```

    Reference:
        Zagoruyko, Komodakis. "Wide Residual Networks", BMVC 2016.
    """
    if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
        raise ValueError(f"depth must be 6n + 4 with n >= 1 (16, 22, 28, 40), got {depth!r}")
    check_positive_int("widen_factor", widen_factor)
    check_fraction("dropout", dropout)
    height, width, inputs = image_input(input_shape, num_classes, width_multiplier)
    n = (depth - 4) // 6
    x = pad_to(inputs, 32, height, width)
    x = keras.layers.Conv2D(scaled(16, width_multiplier), 3, padding="same", use_bias=False,
                            kernel_initializer="he_normal", name="conv1_conv")(x)
    x = residual_stages(x, preact_basic_block, (n, n, n), 16 * widen_factor, width_multiplier,
                        stochastic_depth=stochastic_depth, seed=seed, dropout=dropout)
    x = batch_normalization(x, "final_bn")
    x = keras.layers.ReLU(name="final_relu")(x)
    x = classifier_head(x, num_classes=num_classes, include_top=include_top, pooling=pooling,
                        classifier_activation=classifier_activation, global_pool=True)
    return keras.Model(inputs, x, name=name or f"wrn{depth}_{widen_factor}")


_WRN_DOC = """WRN-{depth}-{widen_factor} (Zagoruyko & Komodakis 2016).

    See `keras_dl.models.wide_resnets.wide_resnet` for the architecture and the arguments.

    Example:
    ```python
    model = keras_dl.create_model("{name}", input_shape=(28, 28, 1), num_classes=10)
    ```

    Reference:
        Zagoruyko, Komodakis. "Wide Residual Networks", BMVC 2016.
    """


def _register_wrn(depth, widen_factor, smoke_width, default_params=None):
    name = f"wrn{depth}_{widen_factor}"
    return register_model(
        name,
        family="cnn",
        search_space=lambda hp: {
            "dropout": hp.Choice("dropout", [0.0, 0.3]),
            "stochastic_depth": hp.Choice("stochastic_depth", [1.0, 0.8]),
            "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
            "batch_size": hp.Choice("batch_size", [64, 128]),
        },
        smoke_kwargs={"input_shape": (8, 8, 1), "num_classes": 3,
                      "width_multiplier": smoke_width},
        train_defaults={"epochs": 30, "batch_size": 128, "learning_rate": 1e-3},
        default_params=default_params,
    )(variant(wide_resnet, name,
              _WRN_DOC.format(depth=depth, widen_factor=widen_factor, name=name),
              fixed={"depth": depth, "widen_factor": widen_factor}))


wrn16_4 = _register_wrn(16, 4, 1 / 16, 2_752_506)
wrn28_10 = _register_wrn(28, 10, 1 / 40, 36_497_146)
