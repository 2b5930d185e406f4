"""Building blocks shared by the CNN families, each defined once and reused.

- `conv_unit`: convolution → [batch norm] → ReLU, the unit every family stacks;
- `basic_block`, `bottleneck_block` (ResNet, He et al. 2016) and `preact_basic_block` (Wide
  ResNet, Zagoruyko & Komodakis 2016, after He et al.'s pre-activation ordering), with
  `residual_join` adding the branch to its shortcut, optionally through `StochasticDepth`;
- `inception_module` (GoogLeNet, Szegedy et al. 2015);
- `fire_module` (SqueezeNet, Iandola et al. 2016);
- `fractal_block` (FractalNet, Larsson et al. 2017) built by the fractal expansion rule and
  merged by `FractalJoin`.

They are functional-API helpers: each takes a tensor and a `name` prefix and returns a
tensor; layer names are `{name}_{part}` so that weights can be found and mapped.
"""

from __future__ import annotations

import keras

from keras_dl.layers import ChannelPadding, FractalJoin, StochasticDepth

BN_EPSILON = 1e-5  # torchvision's and the original Caffe/Torch models'
# Moving averages of batch statistics keep 90% of their value per step (Torch's momentum 0.1,
# as in the original ResNet code); Keras' 0.99 lags for thousands of steps, so a short run
# evaluates with statistics far from the trained ones (measured: validation accuracy 0.25
# against training accuracy 0.77 after two epochs of ResNet-20).
BN_MOMENTUM = 0.9


def scaled(channels: int, width_multiplier: float) -> int:
    """`channels × width_multiplier`, rounded, at least 1 (the builders' thin-model knob)."""
    return max(1, int(round(channels * width_multiplier)))


def conv_unit(x, filters, kernel_size, *, name, strides=1, padding="same", batch_norm=True,
              activation=True, groups=1, kernel_initializer="he_normal", zero_gamma=False):
    """`Conv2D` (no bias when batch norm follows: BN's β replaces it) → [BN] → [ReLU].

    `zero_gamma` starts batch norm's scale γ at 0 (the unit outputs β = 0 at initialisation).
    """
    x = keras.layers.Conv2D(
        filters, kernel_size, strides=strides, padding=padding, groups=groups,
        use_bias=not batch_norm, kernel_initializer=kernel_initializer, name=f"{name}_conv",
    )(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(
            momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{name}_bn",
            gamma_initializer="zeros" if zero_gamma else "ones")(x)
    if activation:
        x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return x


def residual_join(shortcut, residual, *, name, survival_probability=None, seed=None):
    """`shortcut + residual`, or through `StochasticDepth(survival_probability)` when given."""
    if survival_probability is None:
        return keras.layers.Add(name=f"{name}_add")([shortcut, residual])
    return StochasticDepth(survival_probability, seed=seed, name=f"{name}_drop_path")(
        [shortcut, residual])


def _projection(x, filters, strides, name):
    x = keras.layers.Conv2D(filters, 1, strides=strides, use_bias=False,
                            kernel_initializer="he_normal", name=f"{name}_shortcut_conv")(x)
    return keras.layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{name}_shortcut_bn")(x)


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


def preact_basic_block(x, filters, *, strides=1, dropout=0.0, name, survival_probability=None,
                       seed=None):
    """Wide ResNet's block: BN-ReLU-3×3 conv, BN-ReLU-[dropout]-3×3 conv, plus the shortcut.

    Pre-activation ordering (He et al., "Identity Mappings in Deep Residual Networks", 2016);
    when the shape changes, the shortcut is a 1×1 convolution of the pre-activated input
    (Zagoruyko & Komodakis 2016, their reference code). Dropout between the convolutions is
    the paper's "wide-dropout" block.
    """
    pre = keras.layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{name}_preact_bn")(x)
    pre = keras.layers.ReLU(name=f"{name}_preact_relu")(pre)
    residual = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                                   kernel_initializer="he_normal", name=f"{name}_1_conv")(pre)
    residual = keras.layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{name}_1_bn")(residual)
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


def inception_module(x, filters_1x1, reduce_3x3, filters_3x3, reduce_5x5, filters_5x5,
                     pool_projection, *, name, batch_norm=False):
    """GoogLeNet's inception module (Szegedy et al. 2015, Fig. 2b and Table 1).

    Four branches concatenated along channels: 1×1; 1×1 bottleneck → 3×3; 1×1 bottleneck →
    5×5; 3×3 max pooling (stride 1) → 1×1 projection. Every convolution is followed by ReLU.
    """
    def unit(tensor, filters, size, part):
        return conv_unit(tensor, filters, size, batch_norm=batch_norm, name=f"{name}_{part}",
                         kernel_initializer="glorot_uniform")

    branch1 = unit(x, filters_1x1, 1, "1x1")
    branch3 = unit(unit(x, reduce_3x3, 1, "3x3_reduce"), filters_3x3, 3, "3x3")
    branch5 = unit(unit(x, reduce_5x5, 1, "5x5_reduce"), filters_5x5, 5, "5x5")
    pooled = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    branch_pool = unit(pooled, pool_projection, 1, "pool_proj")
    return keras.layers.Concatenate(name=f"{name}_concat")(
        [branch1, branch3, branch5, branch_pool])


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


def fractal_block(x, path, filters, columns, *, name, drop_probability=0.15, dropout=0.0,
                  seed=None):
    """A FractalNet block of `columns` columns, by the fractal expansion rule.

    `f_1(z) = conv(z)` and `f_{C+1}(z) = join[(f_C ∘ f_C)(z), conv(z)]` (Larsson et al. 2017,
    eq. 1), where `conv` is 3×3 conv-BN-ReLU (with dropout `dropout`). Joins that end at the
    same depth are one join over all the columns reaching it, so column `c` (0 = shallowest)
    holds `2^c` convolutions and the block ends with a join over all `columns`. `path` is the
    network's `FractalPathSampler` output; joins apply local and global drop-path.
    """
    counters = {}
    joins = [0]

    def conv(tensor, column):
        counters[column] = counters.get(column, 0) + 1
        unit_name = f"{name}_col{column + 1}_conv{counters[column]}"
        out = conv_unit(tensor, filters, 3, name=unit_name)
        if dropout:
            out = keras.layers.Dropout(dropout, name=f"{unit_name}_dropout")(out)
        return out

    def join(branches):
        order = sorted(branches)
        joins[0] += 1
        layer_seed = None if seed is None else seed + joins[0]
        return FractalJoin(order, drop_probability=drop_probability, seed=layer_seed,
                           name=f"{name}_join{joins[0]}")([branches[c] for c in order] + [path])

    def expand(tensor, num_columns, offset):
        """The unjoined column outputs of `f_{num_columns}` whose shallowest column is `offset`."""
        if num_columns == 1:
            return {offset: conv(tensor, offset)}
        shallow = conv(tensor, offset)
        inner = join(expand(tensor, num_columns - 1, offset + 1))
        branches = expand(inner, num_columns - 1, offset + 1)
        branches[offset] = shallow
        return branches

    return join(expand(x, columns, 0))


SMALL_INPUT_THRESHOLD = 64


def resolve_small_inputs(small_inputs, height, width):
    """`small_inputs` as given, or (None) True for images under 64 pixels on a side."""
    if small_inputs is None:
        return min(height, width) < SMALL_INPUT_THRESHOLD
    if not isinstance(small_inputs, bool):
        raise ValueError(f"small_inputs must be True, False or None, got {small_inputs!r}")
    return small_inputs


def check_width_multiplier(value):
    """A positive number (the factor applied to every layer's channel count)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"width_multiplier must be a positive number, got {value!r}")
    return float(value)


def pad_to(x, size, height, width, name="pad"):
    """Zero-pad a feature map up to `size × size` (for 28×28 images in 32×32 networks)."""
    pad_h, pad_w = max(size - height, 0), max(size - width, 0)
    if not (pad_h or pad_w):
        return x
    return keras.layers.ZeroPadding2D(
        ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)), name=name)(x)


def top(x, *, num_classes, include_top, pooling, classifier_activation, global_pool=True):
    """The head of a `keras.applications`-style network.

    With `include_top`: global average pooling (when `global_pool`) then the `predictions`
    layer; without it: the features, pooled as `pooling` says (None, "avg", "max").
    """
    from keras_dl.models._common import classifier_head

    if include_top and global_pool:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return classifier_head(x, num_classes=num_classes, include_top=include_top,
                           pooling=None if include_top else pooling,
                           classifier_activation=classifier_activation)
