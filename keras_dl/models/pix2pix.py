"""The networks of pix2pix (Isola et al. 2017): the U-Net generator and the conditional PatchGAN
discriminator, as plain builders (the GAN task trains them together; its losses are there).

Both follow the paper's appendix (6.1.1, 6.1.2): 4×4 convolutions of stride 2; `Ck` is
Convolution-BatchNorm-ReLU with k filters, `CDk` the same with 50% dropout; the encoder and
the discriminator use LeakyReLU(0.2); weights start from N(0, 0.02); the first layer of the
encoder and of the discriminator has no BatchNorm. keras_dl's images lie in [0, 1], so the
generator ends in a sigmoid where the paper's ends in tanh for [-1, 1]. BatchNorm keeps the
authors' PyTorch settings (momentum 0.1 there, 0.9 in Keras' convention; epsilon 1e-5): with
Keras' default 0.99 the moving statistics of a short run are still far from the data's, and
the model in inference mode is much worse than in training mode.

Reference:
    Isola, Zhu, Zhou, Efros. "Image-to-Image Translation with Conditional Adversarial
    Networks", CVPR 2017; Ronneberger, Fischer, Brox. "U-Net: Convolutional Networks for
    Biomedical Image Segmentation", MICCAI 2015.
"""

from __future__ import annotations

import math

import keras

from keras_dl.models._common import check_fraction, check_input_shape, check_positive_int

KERNEL_SIZE = 4
LEAKY_SLOPE = 0.2
MAX_WIDTH_FACTOR = 8  # widths double per level up to 8 × filters (C64 ... C512)
DROPOUT_LAYERS = 3  # the paper's decoder begins CD512-CD512-CD512
PATCH_LAYERS = (1, 2, 3)  # stride-2 layers of the 16×16, 34×34 and 70×70 PatchGANs
# BatchNorm as in the authors' PyTorch code (its momentum 0.1 is Keras' 0.9): moving
# statistics that settle within a few hundred steps, not Keras' default thousands.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def _init(seed, offset):
    """The paper's initialisation: N(0, 0.02) (seeded `seed + offset`; unseeded for None)."""
    return keras.initializers.RandomNormal(0.0, 0.02, seed=None if seed is None else seed + offset)


def _batch_norm(name):
    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)


def _width(filters, level):
    return filters * min(2 ** (level - 1), MAX_WIDTH_FACTOR)


def full_depth(input_shape) -> int:
    """The U-Net depth that halves the smaller side down to 1 (8 for 256×256, as in the paper;
    5 for 28×28 and 32×32; 6 for 64×64)."""
    return max(1, math.ceil(math.log2(min(input_shape[:2]))))


def receptive_field(layers: int) -> int:
    """The side of the input patch one PatchGAN logit sees: 9·2^layers − 2 (16, 34, 70, 142,
    286 for 1..5 stride-2 layers, the paper's 16×16, 70×70 and 286×286 among them)."""
    return 9 * 2 ** layers - 2


def unet_generator(input_shape=(28, 28, 1), *, output_channels=1, filters=64, depth=None,
                   dropout=0.5, seed=None, name="unet_generator"):
    """The pix2pix U-Net generator: an encoder–decoder with skip connections (Isola et al.).

    Encoder level i (`down{i}_conv`, `down{i}_bn`, `down{i}_lrelu`, i = 1..depth): a 4×4
    stride-2 convolution with `filters · min(2^(i-1), 8)` channels (C64-C128-C256-C512-C512...
    for filters=64), BatchNorm, LeakyReLU(0.2). There is no BatchNorm at level 1 (the paper)
    nor at the bottleneck, level `depth` (the authors' code: BatchNorm of a 1×1 map over a
    batch of one is zero). Decoder level j (`up{j}_deconv`, `up{j}_bn`, `up{j}_dropout`,
    `up{j}_relu`, `up{j}_skip`, j = 1..depth-1): a 4×4 stride-2 transposed convolution with the
    mirrored encoder level's width, BatchNorm, dropout (the first three levels only, as the
    paper's CD512 ×3), ReLU, then concatenation with the encoder activation of the same size
    (the skip connection: level j joins encoder level depth − j). `output_deconv`, a last
    stride-2 transposed convolution to `output_channels`, and a sigmoid (`output`, always the
    last layer) give the image back at the input size.

    Sizes that 2^depth does not divide are zero-padded up to a multiple of it (`pad`; black,
    Fashion-MNIST's background) and cropped back before the sigmoid (`crop`): 28×28 at the full
    depth 5 runs at 32×32 (32 → 16 → 8 → 4 → 2 → 1 and back). Dropout is active in training
    only (Keras' convention); Isola et al. keep it at test time as the generator's noise, which
    `model(x, training=True)` does (BatchNorm then uses the batch's statistics, as theirs does).

    Args:
        input_shape: (height, width, channels) of the input image; both sides at least 2.
        output_channels: channels of the generated image.
        filters: width of the first level (the paper's 64). At 28×28 and full depth, 64 gives
            16.7 M parameters, 16 about 1.0 M (depth 3: 1.4 M and 91 k).
        depth: encoder levels; None: the full depth, down to a 1×1 bottleneck (`full_depth`:
            8 for 256×256 as in the paper, 5 for 28×28); at most that.
        dropout: dropout rate of the first three decoder levels (the paper's 0.5); 0 for none.
        seed: initializer seed (None: unseeded).
        name: model name.

    Example:
    ```python
    generator = unet_generator((28, 28, 1), filters=32, depth=2)   # 28 → 14 → 7, no padding
    fake = generator(edges)                                        # (batch, 28, 28, 1) in [0, 1]
    ```

    Reference:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks",
        CVPR 2017, section 3.2.1 and appendix 6.1.1; Ronneberger et al., "U-Net", MICCAI 2015.
    """
    input_shape = check_input_shape(input_shape, rank=3)
    if min(input_shape[:2]) < 2:
        raise ValueError(f"input_shape height and width must be at least 2 for a stride-2 "
                         f"U-Net, got {input_shape!r}")
    output_channels = check_positive_int("output_channels", output_channels)
    filters = check_positive_int("filters", filters)
    deepest = full_depth(input_shape)
    depth = deepest if depth is None else check_positive_int("depth", depth)
    if depth > deepest:
        raise ValueError(f"depth must be 1..{deepest} for a {input_shape[0]}×{input_shape[1]} "
                         f"input ({deepest} reaches a 1×1 bottleneck), got {depth}")
    dropout = check_fraction("dropout", dropout)

    inputs = keras.Input(input_shape, name="input_image")
    x = inputs
    factor = 2 ** depth
    height, width = input_shape[:2]
    pad_h, pad_w = -height % factor, -width % factor
    padding = ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2))
    if pad_h or pad_w:
        x = keras.layers.ZeroPadding2D(padding, name="pad")(x)

    skips = []
    for level in range(1, depth + 1):
        x = keras.layers.Conv2D(_width(filters, level), KERNEL_SIZE, strides=2, padding="same",
                                use_bias=level in (1, depth), kernel_initializer=_init(seed, level),
                                name=f"down{level}_conv")(x)
        if level not in (1, depth):
            x = _batch_norm(f"down{level}_bn")(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"down{level}_lrelu")(x)
        skips.append(x)

    for level in range(1, depth):
        mirror = depth - level  # the encoder level of the same size
        x = keras.layers.Conv2DTranspose(_width(filters, mirror), KERNEL_SIZE, strides=2,
                                         padding="same", use_bias=False,
                                         kernel_initializer=_init(seed, 100 + level),
                                         name=f"up{level}_deconv")(x)
        x = _batch_norm(f"up{level}_bn")(x)
        if dropout and level <= DROPOUT_LAYERS:
            x = keras.layers.Dropout(dropout, name=f"up{level}_dropout")(x)
        x = keras.layers.ReLU(name=f"up{level}_relu")(x)
        x = keras.layers.Concatenate(name=f"up{level}_skip")([x, skips[mirror - 1]])

    x = keras.layers.Conv2DTranspose(output_channels, KERNEL_SIZE, strides=2, padding="same",
                                     kernel_initializer=_init(seed, 200),
                                     name="output_deconv")(x)
    if pad_h or pad_w:
        x = keras.layers.Cropping2D(padding, name="crop")(x)
    outputs = keras.layers.Activation("sigmoid", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def patchgan_discriminator(input_shape=(28, 28, 1), target_shape=None, *, filters=64,
                           layers=None, seed=None, name="patchgan_discriminator"):
    """The pix2pix conditional PatchGAN: one real/fake logit per overlapping image patch.

    It takes two images, the condition (`input_image`) and a real or generated target
    (`target_image`), of the same height and width, concatenates them on channels (`pair`)
    and runs `layers` 4×4 stride-2 convolutions (`down{i}_conv`, `down{i}_bn`,
    `down{i}_lrelu`; widths `filters · min(2^(i-1), 8)`, no BatchNorm on the first), a 4×4
    stride-1 convolution (`features_conv`, `features_bn`, `features_lrelu`) and a 4×4 stride-1
    convolution to one channel (`patch_logits`, no activation). Each logit of the
    ⌈H/2^layers⌉ × ⌈W/2^layers⌉ grid judges one patch of receptive field 9·2^layers − 2 pixels
    (`receptive_field`): layers = 1, 2, 3 give the 16×16, 34×34 and 70×70 PatchGANs (3 is the
    paper's default for 256×256 images). The losses average over the grid (Isola et al.
    section 3.2.2: D "classifies each N×N patch as real or fake ... averaging all responses").

    Args:
        input_shape: (height, width, channels) of the condition image.
        target_shape: (height, width, channels) of the target image; None: `input_shape`.
        filters: width of the first layer (the paper's 64).
        layers: stride-2 layers; None: 3 (70×70 patches) where the smaller side is at least
            70 pixels, else the largest of 2 (34×34) and 1 (16×16) whose patch fits inside
            the image (1 for 28×28 and 32×32: a 14×14 or 16×16 grid of 16×16 patches; 2 for
            64×64).
        seed: initializer seed (None: unseeded).
        name: model name.

    Example:
    ```python
    discriminator = patchgan_discriminator((28, 28, 1), (28, 28, 1), filters=32)
    logits = discriminator([edges, images])  # (batch, 14, 14, 1): one logit per 16×16 patch
    ```

    Reference:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks",
        CVPR 2017, section 3.2.2 and appendix 6.1.2 (C64-C128-C256-C512 for 70×70); Li & Wand,
        "Precomputed Real-Time Texture Synthesis with Markovian GANs", ECCV 2016.
    """
    input_shape = check_input_shape(input_shape, rank=3)
    if target_shape is None:
        target_shape = input_shape
    try:
        target_shape = check_input_shape(target_shape, rank=3)
    except ValueError:
        raise ValueError(f"target_shape must be 3 positive integers, got {target_shape!r}") \
            from None
    if target_shape[:2] != input_shape[:2]:
        raise ValueError(f"target_shape {target_shape!r} must have input_shape's height and "
                         f"width {input_shape[:2]!r} (the two images are joined on channels)")
    filters = check_positive_int("filters", filters)
    if layers is None:
        side = min(input_shape[:2])
        layers = max([n for n in PATCH_LAYERS if receptive_field(n) <= side], default=1)
    layers = check_positive_int("layers", layers)

    condition = keras.Input(input_shape, name="input_image")
    target = keras.Input(target_shape, name="target_image")
    x = keras.layers.Concatenate(name="pair")([condition, target])
    for level in range(1, layers + 1):
        x = keras.layers.Conv2D(_width(filters, level), KERNEL_SIZE, strides=2, padding="same",
                                use_bias=level == 1, kernel_initializer=_init(seed, level),
                                name=f"down{level}_conv")(x)
        if level > 1:
            x = _batch_norm(f"down{level}_bn")(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"down{level}_lrelu")(x)
    x = keras.layers.Conv2D(_width(filters, layers + 1), KERNEL_SIZE, padding="same",
                            use_bias=False, kernel_initializer=_init(seed, 100),
                            name="features_conv")(x)
    x = _batch_norm("features_bn")(x)
    x = keras.layers.LeakyReLU(LEAKY_SLOPE, name="features_lrelu")(x)
    logits = keras.layers.Conv2D(1, KERNEL_SIZE, padding="same",
                                 kernel_initializer=_init(seed, 200), name="patch_logits")(x)
    return keras.Model([condition, target], logits, name=name)
