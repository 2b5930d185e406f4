"""Residual networks: ResNet-18 to -152, the CIFAR ResNets, Wide ResNets, stochastic depth.

- **ResNet-18/34/50/101/152** (He, Zhang, Ren & Sun, "Deep Residual Learning for Image
  Recognition", CVPR 2016, Table 1) at 224×224: a 7×7/2 stem, 3×3/2 max pooling, four stages
  of basic (18, 34) or bottleneck (50, 101, 152) blocks at 64·2^s channels, global average
  pooling, one fully connected layer. Convolutions have no bias (batch norm follows each),
  as in torchvision and the original Caffe models, so at 1000 classes the counts are
  torchvision's: 11,689,512 / 21,797,672 / 25,557,032 / 44,549,160 / 60,192,808 trainable
  parameters. `keras.applications.ResNet50/101/152` give their convolutions a bias, which
  adds exactly the sum of the conv channel counts (25,636,712 − 25,557,032 = 79,680 for
  ResNet-50 once the non-trainable batch-norm statistics are counted alike); the tests check
  both relations. Downsampling sits on the first 1×1 of a bottleneck (ResNet v1, as
  `keras.applications`).
  *Small-image variant* (`small_inputs`, automatic under 64 pixels): a 3×3/1 stem and no
  max pooling, the form used for 32×32 CIFAR images and 28×28 Fashion-MNIST.
- **CIFAR ResNets** (same paper, section 4.2): depth `6n + 2`, three stages of `n` basic
  blocks at 16/32/64 channels on 32×32 images, parameter-free "option A" shortcuts:
  ResNet-20 0.27M, -32 0.46M, -44 0.66M, -56 0.85M, -110 1.7M (the paper's Table 6).
- **Wide ResNets** WRN-d-k (Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016):
  pre-activation basic blocks, `(d − 4) / 6` per stage at 16k/32k/64k channels; WRN-28-10
  36.5M, WRN-16-4 2.7M parameters (the paper's Table 3 / 4).
- **Stochastic depth** (Huang et al., ECCV 2016) for all of them: `stochastic_depth=p_L`
  drops block `l` of `L` with probability `1 − p_l`, `p_l = 1 − l/L (1 − p_L)` (the paper's
  linear decay, `p_L = 0.5`), and scales the residual by `p_l` at inference.

Every builder also takes `width_multiplier` (all channel counts scaled by it: thin models
for tests and quick runs).
"""

from __future__ import annotations

import keras

from keras_dl.layers import linear_survival_probability
from keras_dl.models._common import check_input_shape, check_positive_int
from keras_dl.models.blocks import (
    BN_EPSILON,
    BN_MOMENTUM,
    basic_block,
    bottleneck_block,
    check_width_multiplier,
    conv_unit,
    pad_to,
    preact_basic_block,
    resolve_small_inputs,
    scaled,
    top,
)
from keras_dl.registry import register_model


def _survival(stochastic_depth):
    if stochastic_depth is None:
        return lambda index, total: None
    if (not isinstance(stochastic_depth, (int, float)) or isinstance(stochastic_depth, bool)
            or not 0 < stochastic_depth <= 1):
        raise ValueError(
            f"stochastic_depth must be None or the final survival probability p_L in (0, 1], "
            f"got {stochastic_depth!r}"
        )
    return lambda index, total: linear_survival_probability(index, total, stochastic_depth)


def _check_flag(name, value):
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def _start(input_shape, num_classes, width_multiplier):
    height, width, channels = check_input_shape(input_shape, rank=3)
    check_positive_int("num_classes", num_classes)
    check_width_multiplier(width_multiplier)
    return height, width, keras.Input(shape=(height, width, channels), name="images")


def _resnet(block, depths, *, input_shape, num_classes, include_top, pooling,
            classifier_activation, name, small_inputs, width_multiplier, stochastic_depth,
            seed, zero_init_residual=False):
    height, width, inputs = _start(input_shape, num_classes, width_multiplier)
    small = resolve_small_inputs(small_inputs, height, width)
    survival = _survival(stochastic_depth)
    if small:
        x = conv_unit(inputs, scaled(64, width_multiplier), 3, name="conv1")
    else:
        x = conv_unit(inputs, scaled(64, width_multiplier), 7, strides=2, name="conv1")
        x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    total, index = sum(depths), 0
    for stage, depth in enumerate(depths, start=1):
        filters = scaled(64 * 2 ** (stage - 1), width_multiplier)
        for number in range(1, depth + 1):
            index += 1
            strides = 2 if stage > 1 and number == 1 else 1
            x = block(x, filters, strides=strides, name=f"stage{stage}_block{number}",
                      survival_probability=survival(index, total),
                      seed=None if seed is None else seed + index,
                      zero_init_residual=zero_init_residual)
    x = top(x, num_classes=num_classes, include_top=include_top, pooling=pooling,
            classifier_activation=classifier_activation)
    return keras.Model(inputs, x, name=name)


def _search_space(hp):
    return {
        "stochastic_depth": hp.Choice("stochastic_depth", [1.0, 0.8, 0.5]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [64, 128]),
    }


_IMAGENET_TRAIN = {"epochs": 30, "batch_size": 128, "learning_rate": 1e-3}


def _register_imagenet(name, block, depths, smoke_width, default_params=None):
    @register_model(
        name,
        family="cnn",
        search_space=_search_space,
        smoke_kwargs={"input_shape": (16, 16, 3), "num_classes": 3,
                      "width_multiplier": smoke_width},
        train_defaults=_IMAGENET_TRAIN,
        default_params=default_params,
    )
    def builder(*, input_shape=(224, 224, 3), num_classes=1000, include_top=True,
                pooling=None, classifier_activation="softmax", name=name, small_inputs=None,
                width_multiplier=1.0, stochastic_depth=None, seed=None,
                zero_init_residual=False):
        return _resnet(block, depths, input_shape=input_shape, num_classes=num_classes,
                       include_top=include_top, pooling=pooling,
                       classifier_activation=classifier_activation, name=name,
                       small_inputs=small_inputs, width_multiplier=width_multiplier,
                       stochastic_depth=stochastic_depth, seed=seed,
                       zero_init_residual=_check_flag("zero_init_residual",
                                                      zero_init_residual))

    kind = "basic" if block is basic_block else "bottleneck"
    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"""{name.replace("resnet", "ResNet-")} (He et al. 2016): {kind} blocks {depths}.

    Args:
        input_shape: `(height, width, channels)`; 224×224×3 in the paper.
        num_classes: number of classes.
        include_top: add global average pooling and the `predictions` layer.
        pooling: with `include_top=False`, None (feature maps), "avg" or "max".
        classifier_activation: "softmax" for probabilities, None for logits.
        name: model name.
        small_inputs: True for the small-image variant (3×3/1 stem, no max pooling), False
            for the paper's stem; None chooses True for inputs under 64 pixels a side.
        width_multiplier: factor on every channel count (1.0 in the paper).
        stochastic_depth: None (off) or `p_L`, the survival probability of the last block
            under the linear decay rule of Huang et al. 2016 (0.5 in their paper).
        seed: seed of the stochastic-depth layers.
        zero_init_residual: start every residual branch's last batch-norm scale γ at 0, so
            each block begins as its shortcut (Goyal et al. 2017; torchvision's
            `zero_init_residual`, timm's `zero_init_last`). Off, as in the paper; deep
            networks (ResNet-110) start with a much smaller loss with it.

    Example:
    ```python
    model = keras_dl.create_model("{name}", input_shape=(28, 28, 1), num_classes=10)
    ```

    Reference:
        He, Zhang, Ren, Sun. "Deep Residual Learning for Image Recognition", CVPR 2016.
    """
    return builder


resnet18 = _register_imagenet("resnet18", basic_block, (2, 2, 2, 2), 0.125, 11_699_112)
resnet34 = _register_imagenet("resnet34", basic_block, (3, 4, 6, 3), 0.0625, 21_814_696)
resnet50 = _register_imagenet("resnet50", bottleneck_block, (3, 4, 6, 3), 0.0625, 25_610_152)
resnet101 = _register_imagenet("resnet101", bottleneck_block, (3, 4, 23, 3), 0.0625, 44_654_504)
resnet152 = _register_imagenet("resnet152", bottleneck_block, (3, 8, 36, 3), 0.0625, 60_344_232)


# --- CIFAR ResNets ---------------------------------------------------------------------------


def cifar_resnet(*, depth=20, input_shape=(32, 32, 3), num_classes=10, include_top=True,
                 pooling=None, classifier_activation="softmax", name=None, width_multiplier=1.0,
                 stochastic_depth=None, seed=None, zero_init_residual=False):
    """The CIFAR-10 ResNet of depth `6n + 2` (He et al. 2016, section 4.2), any `n`.

    A 3×3 conv with 16 filters, three stages of `n` basic blocks with 16, 32, 64 filters on
    32×32, 16×16, 8×8 maps (stride-2 first block in stages 2 and 3), global average pooling
    and the classifier. Shortcuts are identities, zero-padded where the channels double
    ("option A"), so no parameters are spent on them. Images smaller than 32×32 (28×28
    Fashion-MNIST) are zero-padded to 32×32.

    Args:
        depth: `6n + 2`: 20, 32, 44, 56, 110, 1202 in the paper.
        input_shape, num_classes, include_top, pooling, classifier_activation, name: as for
            every builder.
        width_multiplier: factor on the 16/32/64 channel counts.
        stochastic_depth: None, or `p_L` of Huang et al.'s linear decay (their CIFAR
            experiments use ResNet-110 with `p_L = 0.5`).
        seed: seed of the stochastic-depth layers.
        zero_init_residual: start every residual branch's last batch-norm scale γ at 0, so
            each block begins as its shortcut (Goyal et al. 2017; torchvision's
            `zero_init_residual`, timm's `zero_init_last`). Off, as in the paper; deep
            networks (ResNet-110) start with a much smaller loss with it.
    """
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110), got {depth!r}")
    height, width, inputs = _start(input_shape, num_classes, width_multiplier)
    survival = _survival(stochastic_depth)
    zero_init_residual = _check_flag("zero_init_residual", zero_init_residual)
    n = (depth - 2) // 6
    x = pad_to(inputs, 32, height, width)
    x = conv_unit(x, scaled(16, width_multiplier), 3, name="conv1")
    index = 0
    for stage in range(1, 4):
        filters = scaled(16 * 2 ** (stage - 1), width_multiplier)
        for number in range(1, n + 1):
            index += 1
            x = basic_block(x, filters, strides=2 if stage > 1 and number == 1 else 1,
                            shortcut="zero_pad", name=f"stage{stage}_block{number}",
                            survival_probability=survival(index, 3 * n),
                            seed=None if seed is None else seed + index,
                            zero_init_residual=zero_init_residual)
    x = top(x, num_classes=num_classes, include_top=include_top, pooling=pooling,
            classifier_activation=classifier_activation)
    return keras.Model(inputs, x, name=name or f"resnet{depth}")


def _cifar_search_space(hp):
    return {
        "stochastic_depth": hp.Choice("stochastic_depth", [1.0, 0.8, 0.5]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [64, 128]),
    }


def _register_cifar(depth, smoke_width, default_params=None):
    name = f"resnet{depth}"

    @register_model(
        name,
        family="cnn",
        search_space=_cifar_search_space,
        smoke_kwargs={"input_shape": (8, 8, 1), "num_classes": 3,
                      "width_multiplier": smoke_width},
        train_defaults={"epochs": 30, "batch_size": 128, "learning_rate": 1e-3},
        default_params=default_params,
    )
    def builder(*, input_shape=(32, 32, 3), num_classes=10, include_top=True, pooling=None,
                classifier_activation="softmax", name=name, width_multiplier=1.0,
                stochastic_depth=None, seed=None, zero_init_residual=False):
        return cifar_resnet(depth=depth, input_shape=input_shape, num_classes=num_classes,
                            include_top=include_top, pooling=pooling,
                            classifier_activation=classifier_activation, name=name,
                            width_multiplier=width_multiplier,
                            stochastic_depth=stochastic_depth, seed=seed,
                            zero_init_residual=zero_init_residual)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"""ResNet-{depth} for CIFAR (He et al. 2016, section 4.2): n = {(depth - 2) // 6}.

    See `keras_dl.models.resnet.cifar_resnet` for the architecture and the arguments.

    Example:
    ```python
    model = keras_dl.create_model("{name}", input_shape=(28, 28, 1), num_classes=10)
    ```
    """
    return builder


resnet20 = _register_cifar(20, 0.25, 271_098)
resnet32 = _register_cifar(32, 0.25, 466_426)
resnet44 = _register_cifar(44, 0.25, 661_754)
resnet56 = _register_cifar(56, 0.25, 857_082)
resnet110 = _register_cifar(110, 0.25, 1_736_058)


# --- Wide ResNets ----------------------------------------------------------------------------


def wide_resnet(*, depth=28, widen_factor=10, dropout=0.0, input_shape=(32, 32, 3),
                num_classes=10, include_top=True, pooling=None, classifier_activation="softmax",
                name=None, width_multiplier=1.0, stochastic_depth=None, seed=None):
    """WRN-d-k (Zagoruyko & Komodakis 2016), any depth `d = 6n + 4` and widening factor `k`.

    A 3×3 conv with 16 filters, three stages of `n` pre-activation basic blocks with 16k,
    32k, 64k filters (stride 2 entering stages 2 and 3), a final BN-ReLU, global average
    pooling and the classifier. Images smaller than 32×32 are zero-padded to 32×32.

    Args:
        depth: `6n + 4` (16, 22, 28, 40 in the paper).
        widen_factor: `k`.
        dropout: dropout between the two convolutions of each block (0.3 in the paper's
            dropout experiments; 0 by default).
        input_shape, num_classes, include_top, pooling, classifier_activation, name: as for
            every builder.
        width_multiplier: extra factor on every channel count (1.0: the paper).
        stochastic_depth: None, or `p_L` of Huang et al.'s linear decay.
        seed: seed of the stochastic-depth layers.
    """
    if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
        raise ValueError(f"depth must be 6n + 4 with n >= 1 (16, 22, 28, 40), got {depth!r}")
    check_positive_int("widen_factor", widen_factor)
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    height, width, inputs = _start(input_shape, num_classes, width_multiplier)
    survival = _survival(stochastic_depth)
    n = (depth - 4) // 6
    x = pad_to(inputs, 32, height, width)
    x = keras.layers.Conv2D(scaled(16, width_multiplier), 3, padding="same", use_bias=False,
                            kernel_initializer="he_normal", name="conv1_conv")(x)
    index = 0
    for stage in range(1, 4):
        filters = scaled(16 * 2 ** (stage - 1) * widen_factor, width_multiplier)
        for number in range(1, n + 1):
            index += 1
            x = preact_basic_block(x, filters, strides=2 if stage > 1 and number == 1 else 1,
                                   dropout=dropout, name=f"stage{stage}_block{number}",
                                   survival_probability=survival(index, 3 * n),
                                   seed=None if seed is None else seed + index)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                        name="final_bn")(x)
    x = keras.layers.ReLU(name="final_relu")(x)
    x = top(x, num_classes=num_classes, include_top=include_top, pooling=pooling,
            classifier_activation=classifier_activation)
    return keras.Model(inputs, x, name=name or f"wrn{depth}_{widen_factor}")


def _register_wrn(depth, widen_factor, smoke_width, default_params=None):
    name = f"wrn{depth}_{widen_factor}"

    @register_model(
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
    )
    def builder(*, input_shape=(32, 32, 3), num_classes=10, include_top=True, pooling=None,
                classifier_activation="softmax", name=name, dropout=0.0, width_multiplier=1.0,
                stochastic_depth=None, seed=None):
        return wide_resnet(depth=depth, widen_factor=widen_factor, dropout=dropout,
                           input_shape=input_shape, num_classes=num_classes,
                           include_top=include_top, pooling=pooling,
                           classifier_activation=classifier_activation, name=name,
                           width_multiplier=width_multiplier,
                           stochastic_depth=stochastic_depth, seed=seed)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"""WRN-{depth}-{widen_factor} (Zagoruyko & Komodakis 2016).

    See `keras_dl.models.resnet.wide_resnet` for the architecture and the arguments.

    Example:
    ```python
    model = keras_dl.create_model("{name}", input_shape=(28, 28, 1), num_classes=10)
    ```
    """
    return builder


wrn16_4 = _register_wrn(16, 4, 1 / 16, 2_752_506)
wrn28_10 = _register_wrn(28, 10, 1 / 40, 36_497_146)
