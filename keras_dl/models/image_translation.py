"""Image-to-image translation (Isola et al. 2017): the registered models `pix2pix` and
`unet_translation`, both the U-Net of `keras_dl.models.pix2pix`.

- `pix2pix` is trained as a conditional GAN (task "image_translation_gan",
  `keras_dl.tasks.image_translation`): against the conditional PatchGAN that
  `patchgan_discriminator_for` makes from it, on `L_cGAN + λ·L1` (Isola et al., eq. 4).
- `unet_translation` is the same network trained on L1 alone (task "image_translation":
  `fit(x, y)` with the mean absolute error), the paper's "L1" baseline, whose outputs are
  blurry: under L1 the best guess of an uncertain pixel is the median of what it could be
  (section 3.1, figure 4).

Either is the registered model object: what `keras-dl train` saves, `keras-dl export` exports
and `keras-dl serve` serves (an image of the input shape → an image). Both train on the
datasets that pair an input image with a target image (`fashion_mnist_edges`,
`fashion_mnist_inpainting`).
"""

from __future__ import annotations

import keras

from keras_dl.models.gan_training import check_gan_loss
from keras_dl.models.pix2pix import patchgan_discriminator, unet_generator
from keras_dl.models.pix2pix_training import DEFAULT_L1_WEIGHT, check_weight
from keras_dl.registry import register_model

# Isola et al. 2017, section 4 and appendix 6.2: Adam with learning rate 2e-4 and β₁ = 0.5 (the
# image-translation tasks set β₁ on the Adam optimizers they are given). Their batch size is 1
# to 10 for 256×256 images; 28×28 images train in batches of 64.
TRAIN_DEFAULTS = {"epochs": 10, "batch_size": 64, "learning_rate": 2e-4, "adam_beta_1": 0.5}
SMOKE_KWARGS = {"input_shape": (8, 8, 1), "filters": 4}


def _search_space(hp):
    return {
        "filters": hp.Choice("filters", [16, 32, 64]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-3, sampling="log"),
    }


def patchgan_discriminator_for(generator) -> keras.Model:
    """The conditional PatchGAN of a `pix2pix` generator: it judges (input, output) pairs of the
    generator's shapes, with the generator's first-level width (the paper's 64 for both) and
    the patch size `patchgan_discriminator` picks for the image size (16×16 for 28×28)."""
    return patchgan_discriminator(
        tuple(int(d) for d in generator.inputs[0].shape[1:]),
        tuple(int(d) for d in generator.outputs[0].shape[1:]),
        filters=generator.get_layer("down1_conv").filters,
        name=f"{generator.name}_discriminator")


@register_model(
    family="image_translation",
    task="image_translation_gan",
    search_space=_search_space,
    smoke_kwargs=SMOKE_KWARGS,
    train_defaults=TRAIN_DEFAULTS,
    task_options={"discriminator": patchgan_discriminator_for},
    default_params=16_657_217,
)
def pix2pix(*, input_shape=(28, 28, 1), output_channels=1, filters=64, depth=None,
            dropout=0.5, l1_weight=DEFAULT_L1_WEIGHT, gan_loss="non_saturating", name="pix2pix"):
    """pix2pix (Isola et al. 2017): a U-Net generator trained as a conditional GAN plus λ·L1.

    The registered model is the generator `G(x)`, `unet_generator` (appendix 6.1.1). Its
    discriminator, the conditional PatchGAN of `patchgan_discriminator_for` (appendix 6.1.2),
    judges each patch of the pair (input, output). The image-translation GAN task trains the
    two in alternation (`keras_dl.models.pix2pix_training.Pix2PixTrainer`) on eq. 4,
    `min_G max_D L_cGAN(G, D) + λ·L_L1(G)`: the generator minimises the non-saturating
    `−log D(x, G(x))` (or eq. 1's minimax term, `gan_loss="minimax"`) plus `l1_weight · |y −
    G(x)|`. The registered train defaults are the paper's: Adam at 2e-4 with β₁ = 0.5.

    Args:
        input_shape: (height, width, channels) of the input image.
        output_channels: channels of the generated image.
        filters: width of the first U-Net level and of the discriminator's first layer
            (the paper's 64; 16 trains on a CPU).
        depth: U-Net levels (None: down to a 1×1 bottleneck, 5 for 28×28).
        dropout: dropout rate of the first three decoder levels (the paper's 0.5).
        l1_weight: λ of eq. 4 (the paper's 100); read by the task when it pairs the generator
            with its discriminator (not part of the saved config: a generator loaded from a
            file trains with 100).
        gan_loss: the generator's adversarial term, "non_saturating" or "minimax".
        name: model name.

    Example:
    ```python
    generator = keras_dl.create_model("pix2pix", filters=16)
    images = generator(edges)          # (batch, 28, 28, 1) in [0, 1]
    ```

    Reference:
        Isola, Zhu, Zhou, Efros. "Image-to-Image Translation with Conditional Adversarial
        Networks", CVPR 2017.
    """
    check_gan_loss(gan_loss)
    l1_weight = check_weight("l1_weight", l1_weight)
    model = unet_generator(input_shape, output_channels=output_channels, filters=filters,
                           depth=depth, dropout=dropout, name=name)
    model.l1_weight = l1_weight
    model.gan_loss = gan_loss
    return model


@register_model(
    family="image_translation",
    task="image_translation",
    search_space=_search_space,
    smoke_kwargs=SMOKE_KWARGS,
    train_defaults=TRAIN_DEFAULTS,
    default_params=16_657_217,
)
def unet_translation(*, input_shape=(28, 28, 1), output_channels=1, filters=64, depth=None,
                     dropout=0.5, name="unet_translation"):
    """U-Net trained on L1 alone: pix2pix's generator without the GAN (Isola et al.'s "L1").

    The same network as `pix2pix` (`unet_generator`), trained with `fit(x, y)` on the mean
    absolute error `|y − G(x)|` (Isola et al., eq. 3) and the same optimizer (Adam at 2e-4,
    β₁ = 0.5). It is the paper's baseline: L1 alone gives "reasonable but blurry results"
    (section 4.2, figure 4), since where the target is uncertain the L1 optimum is the median
    of the possible pixel values, not one sharp sample of them.

    Args:
        input_shape: (height, width, channels) of the input image.
        output_channels: channels of the output image.
        filters: width of the first U-Net level (the paper's 64).
        depth: U-Net levels (None: down to a 1×1 bottleneck).
        dropout: dropout rate of the first three decoder levels.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("unet_translation", filters=16)
    ```

    Reference:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks",
        CVPR 2017, section 4.2; Ronneberger et al., "U-Net", MICCAI 2015.
    """
    return unet_generator(input_shape, output_channels=output_channels, filters=filters,
                          depth=depth, dropout=dropout, name=name)
