"""What the CNN families build from, each defined once and reused by several of them.

- `image_input`: the checks and the `images` input every image classifier starts with;
- `conv_unit`: convolution → [batch norm] → ReLU, the unit every family stacks, and
  `batch_normalization` at the momentum and epsilon of the original models;
- `residual_stages` (ResNet, Wide ResNet) stacks a family's residual blocks stage by stage;
  `residual_join` adds a block's residual branch to its shortcut, optionally through
  `StochasticDepth`, whose per-block survival probabilities `survival_schedule` gives
  (Huang et al. 2016);
- `resolve_small_inputs`, `scaled` and `pad_to`: the small-image variant, the thin-model
  knob and the zero padding of 28×28 images up to a network's field.

A block used by one family only lives in that family's file (`basic_block` in `resnet.py`,
`inception_module` in `googlenet.py`, ...). They are functional-API helpers: each takes a
tensor and a `name` prefix and returns a tensor; layer names are `{name}_{part}` so that
weights can be found and mapped.
"""

from __future__ import annotations

import keras

from keras_dl.layers import StochasticDepth, linear_survival_probability
from keras_dl.models._common import check_input_shape, check_positive_int, check_positive_number

BN_EPSILON = 1e-5  # torchvision's and the original Caffe/Torch models'
# Moving averages of batch statistics keep 90% of their value per step (Torch's momentum 0.1,
# as in the original ResNet code); Keras' 0.99 lags for thousands of steps, so a short run
# evaluates with statistics far from the trained ones (measured: validation accuracy 0.25
# against training accuracy 0.77 after two epochs of ResNet-20).
BN_MOMENTUM = 0.9
SMALL_INPUT_THRESHOLD = 64


def image_input(input_shape, num_classes, width_multiplier=1.0):
    """`(height, width, images)`: the checked `(height, width, channels)` input of an image
    classifier, after checking `num_classes` and `width_multiplier` too."""
    height, width, channels = check_input_shape(input_shape, rank=3)
    check_positive_int("num_classes", num_classes)
    check_positive_number("width_multiplier", width_multiplier)
    return height, width, keras.Input(shape=(height, width, channels), name="images")


def scaled(channels: int, width_multiplier: float) -> int:
    """`channels × width_multiplier`, rounded, at least 1 (the builders' thin-model knob)."""
    return max(1, int(round(channels * width_multiplier)))


def batch_normalization(x, name, zero_gamma=False):
    """Batch normalisation with `BN_MOMENTUM` and `BN_EPSILON`; `zero_gamma` starts γ at 0."""
    return keras.layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name,
        gamma_initializer="zeros" if zero_gamma else "ones")(x)


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
        x = batch_normalization(x, f"{name}_bn", zero_gamma=zero_gamma)
    if activation:
        x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return x


def survival_schedule(stochastic_depth):
    """`fn(index, total)`: block `index`'s survival probability of `total` (None when off).

    `stochastic_depth` is None (off) or `p_L`, the last block's survival probability under
    Huang et al.'s linear decay `p_l = 1 − l/L (1 − p_L)`.
    """
    if stochastic_depth is None:
        return lambda index, total: None
    if (not isinstance(stochastic_depth, (int, float)) or isinstance(stochastic_depth, bool)
            or not 0 < stochastic_depth <= 1):
        raise ValueError(
            f"stochastic_depth must be None or the final survival probability p_L in (0, 1], "
            f"got {stochastic_depth!r}"
        )
    return lambda index, total: linear_survival_probability(index, total, stochastic_depth)


def residual_stages(x, block, depths, base_filters, width_multiplier, *, stochastic_depth, seed,
                    **block_kwargs):
    """Stages of `block`s (`depths[s]` in stage `s`) at `base_filters · 2^s` channels, the
    first block of every stage after the first at stride 2; blocks are named
    `stage{s}_block{b}` and numbered 1 to L for stochastic depth (`survival_schedule`)."""
    survival = survival_schedule(stochastic_depth)
    total, index = sum(depths), 0
    for stage, depth in enumerate(depths, start=1):
        filters = scaled(base_filters * 2 ** (stage - 1), width_multiplier)
        for number in range(1, depth + 1):
            index += 1
            x = block(x, filters, strides=2 if stage > 1 and number == 1 else 1,
                      name=f"stage{stage}_block{number}",
                      survival_probability=survival(index, total),
                      seed=None if seed is None else seed + index, **block_kwargs)
    return x


def residual_join(shortcut, residual, *, name, survival_probability=None, seed=None):
    """`shortcut + residual`, or through `StochasticDepth(survival_probability)` when given."""
    if survival_probability is None:
        return keras.layers.Add(name=f"{name}_add")([shortcut, residual])
    return StochasticDepth(survival_probability, seed=seed, name=f"{name}_drop_path")(
        [shortcut, residual])


def resolve_small_inputs(small_inputs, height, width):
    """`small_inputs` as given, or (None) True for images under 64 pixels on a side."""
    if small_inputs is None:
        return min(height, width) < SMALL_INPUT_THRESHOLD
    if not isinstance(small_inputs, bool):
        raise ValueError(f"small_inputs must be True, False or None, got {small_inputs!r}")
    return small_inputs


def pad_to(x, size, height, width, name="pad"):
    """Zero-pad a feature map up to `size × size` (for 28×28 images in 32×32 networks)."""
    pad_h, pad_w = max(size - height, 0), max(size - width, 0)
    if not (pad_h or pad_w):
        return x
    return keras.layers.ZeroPadding2D(
        ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)), name=name)(x)
