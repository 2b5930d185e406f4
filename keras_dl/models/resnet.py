"""Residual networks: ResNet-18 to -152 and the CIFAR ResNets, with stochastic depth.

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
- **Stochastic depth** (Huang et al., ECCV 2016) for both: `stochastic_depth=p_L`
  drops block `l` of `L` with probability `1 − p_l`, `p_l = 1 − l/L (1 − p_L)` (the paper's
  linear decay, `p_L = 0.5`), and scales the residual by `p_l` at inference.

Every builder also takes `width_multiplier` (all channel counts scaled by it: thin models
for tests and quick runs). The Wide ResNets, whose blocks are pre-activated, are in
`wide_resnets.py`.
"""

from __future__ import annotations

import keras

from keras_dl.layers import ChannelPadding
from keras_dl.models._common import check_bool, classifier_head, variant
from keras_dl.models.blocks import (
    batch_normalization,
    conv_unit,
    image_input,
    pad_to,
    residual_join,
    residual_stages,
    resolve_small_inputs,
    scaled,
)
from keras_dl.registry import register_model

# === Blocks ===================================================================================


def _projection(x, filters, strides, name):
    x = keras.layers.Conv2D(filters, 1, strides=strides, use_bias=False,
                            kernel_initializer="he_normal", name=f"{name}_shortcut_conv")(x)
    return batch_normalization(x, f"{name}_shortcut_bn")


def _zero_pad_shortcut(x, filters, strides, name):
    """He et al.'s option A: subsample by `strides`, then pad the new channels with zeros."""
    if strides != 1:
        x = keras.layers.MaxPooling2D(1, strides=strides, name=f"{name}_shortcut_subsample")(x)
    extra = filters - x.shape[-1]
    if extra:
        x = ChannelPadding(extra, name=f"{name}_shortcut_pad")(x)
    return x


def basic_block(x, filters, *, strides=1, name, shortcut="projection",
                survival_probability=None, seed=None, zero_init_residual=False):
    """ResNet's basic block: 3×3 conv-BN-ReLU, 3×3 conv-BN, add the shortcut, ReLU.

    `shortcut` applies when the shape changes: "projection" (a strided 1×1 conv + BN, option
    B of He et al. 2016, as in ResNet-18/34) or "zero_pad" (option A, the CIFAR ResNets).
    `zero_init_residual` starts the residual branch's last batch-norm scale at 0, so the block
    begins as its shortcut (Goyal et al. 2017; torchvision's `zero_init_residual`, timm's
    `zero_init_last`).
    """
    residual = conv_unit(x, filters, 3, strides=strides, name=f"{name}_1")
    residual = conv_unit(residual, filters, 3, activation=False, name=f"{name}_2",
                         zero_gamma=zero_init_residual)
    if strides != 1 or x.shape[-1] != filters:
        x = (_projection(x, filters, strides, name) if shortcut == "projection"
             else _zero_pad_shortcut(x, filters, strides, name))
    x = residual_join(x, residual, name=name, survival_probability=survival_probability,
                      seed=seed)
    return keras.layers.ReLU(name=f"{name}_out")(x)


def bottleneck_block(x, filters, *, strides=1, expansion=4, name, survival_probability=None,
                     seed=None, zero_init_residual=False):
    """ResNet's bottleneck block: 1×1 (stride) → 3×3 → 1×1 (×`expansion`), projection shortcut.

    The stride sits on the first 1×1 convolution, as in the original Caffe models and
    `keras.applications` (ResNet v1; torchvision's "v1.5" moves it to the 3×3 — same
    parameter count). `zero_init_residual` as for `basic_block`.
    """
    out = filters * expansion
    residual = conv_unit(x, filters, 1, strides=strides, name=f"{name}_1")
    residual = conv_unit(residual, filters, 3, name=f"{name}_2")
    residual = conv_unit(residual, out, 1, activation=False, name=f"{name}_3",
                         zero_gamma=zero_init_residual)
    if strides != 1 or x.shape[-1] != out:
        x = _projection(x, out, strides, name)
    x = residual_join(x, residual, name=name, survival_probability=survival_probability,
                      seed=seed)
    return keras.layers.ReLU(name=f"{name}_out")(x)


# === Models ==================================================================================


def _resnet(block, depths, *, input_shape=(224, 224, 3), num_classes=1000, include_top=True,
            pooling=None, classifier_activation="softmax", name=None, small_inputs=None,
            width_multiplier=1.0, stochastic_depth=None, seed=None, zero_init_residual=False):
    """The ImageNet ResNet of `depths` blocks per stage (`block`: basic or bottleneck)."""
    height, width, inputs = image_input(input_shape, num_classes, width_multiplier)
    small = resolve_small_inputs(small_inputs, height, width)
    zero_init_residual = check_bool("zero_init_residual", zero_init_residual)
    if small:
        x = conv_unit(inputs, scaled(64, width_multiplier), 3, name="conv1")
    else:
        x = conv_unit(inputs, scaled(64, width_multiplier), 7, strides=2, name="conv1")
        x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    x = residual_stages(x, block, depths, 64, width_multiplier,
                        stochastic_depth=stochastic_depth, seed=seed,
                        zero_init_residual=zero_init_residual)
    x = classifier_head(x, num_classes=num_classes, include_top=include_top, pooling=pooling,
                        classifier_activation=classifier_activation, global_pool=True)
    return keras.Model(inputs, x, name=name)


def _search_space(hp):
    return {
        "stochastic_depth": hp.Choice("stochastic_depth", [1.0, 0.8, 0.5]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [64, 128]),
    }


_IMAGENET_TRAIN = {"epochs": 30, "batch_size": 128, "learning_rate": 1e-3}


_IMAGENET_DOC = """{title} (He et al. 2016): {kind} blocks {depths}.

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


def _register_imagenet(name, block, depths, smoke_width, default_params=None):
    kind = "basic" if block is basic_block else "bottleneck"
    doc = _IMAGENET_DOC.format(title=name.replace("resnet", "ResNet-"), kind=kind,
                               depths=depths, name=name)
    return register_model(
        name,
        family="cnn",
        search_space=_search_space,
        smoke_kwargs={"input_shape": (16, 16, 3), "num_classes": 3,
                      "width_multiplier": smoke_width},
        train_defaults=_IMAGENET_TRAIN,
        default_params=default_params,
    )(variant(_resnet, name, doc, fixed={"block": block, "depths": depths}))


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

    Example:
    ```python
    model = cifar_resnet(depth=110, stochastic_depth=0.5)
    ```

    Reference:
        He, Zhang, Ren, Sun. "Deep Residual Learning for Image Recognition", CVPR 2016.
    """
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110), got {depth!r}")
    height, width, inputs = image_input(input_shape, num_classes, width_multiplier)
    zero_init_residual = check_bool("zero_init_residual", zero_init_residual)
    n = (depth - 2) // 6
    x = pad_to(inputs, 32, height, width)
    x = conv_unit(x, scaled(16, width_multiplier), 3, name="conv1")
    x = residual_stages(x, basic_block, (n, n, n), 16, width_multiplier,
                        stochastic_depth=stochastic_depth, seed=seed, shortcut="zero_pad",
                        zero_init_residual=zero_init_residual)
    x = classifier_head(x, num_classes=num_classes, include_top=include_top, pooling=pooling,
                        classifier_activation=classifier_activation, global_pool=True)
    return keras.Model(inputs, x, name=name or f"resnet{depth}")


def _cifar_search_space(hp):
    return {
        "stochastic_depth": hp.Choice("stochastic_depth", [1.0, 0.8, 0.5]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [64, 128]),
    }


_CIFAR_DOC = """ResNet-{depth} for CIFAR (He et al. 2016, section 4.2): n = {n}.

    See `keras_dl.models.resnet.cifar_resnet` for the architecture and the arguments.

    Example:
    ```python
    model = keras_dl.create_model("{name}", input_shape=(28, 28, 1), num_classes=10)
    ```

    Reference:
        He, Zhang, Ren, Sun. "Deep Residual Learning for Image Recognition", CVPR 2016.
    """


def _register_cifar(depth, smoke_width, default_params=None):
    name = f"resnet{depth}"
    return register_model(
        name,
        family="cnn",
        search_space=_cifar_search_space,
        smoke_kwargs={"input_shape": (8, 8, 1), "num_classes": 3,
                      "width_multiplier": smoke_width},
        train_defaults={"epochs": 30, "batch_size": 128, "learning_rate": 1e-3},
        default_params=default_params,
    )(variant(cifar_resnet, name, _CIFAR_DOC.format(depth=depth, n=(depth - 2) // 6, name=name),
              fixed={"depth": depth}))


resnet20 = _register_cifar(20, 0.25, 271_098)
resnet32 = _register_cifar(32, 0.25, 466_426)
resnet44 = _register_cifar(44, 0.25, 661_754)
resnet56 = _register_cifar(56, 0.25, 857_082)
resnet110 = _register_cifar(110, 0.25, 1_736_058)
