"""Generative adversarial networks (lecture 004): the generators `gan`, `dcgan`,
`conditional_gan` and `conditional_dcgan`.

A GAN is a pair: a generator `G(z)` mapping noise `z ~ N(0, I)` to an image, and a
discriminator `D(x)`, the probability that `x` is a training image; they play
`min_G max_D E[log D(x)] + E[log(1 − D(G(z)))]` (Goodfellow et al. 2014, eq. 1).

**The registered model is the generator**: `create_model("dcgan")` returns `G`, the network
that `keras-dl train` saves as `model.keras`, that `keras-dl export` exports and
`keras-dl serve` serves (noise, plus a label for `conditional_gan`, → image). The
discriminator is made for training by the function that the registration names in
`task_options["discriminator"]` (`keras_dl.models.gan_discriminators`), from the generator
itself; the GAN task (`keras_dl.tasks.gan`) pairs the two in a `GANTrainer`
(`keras_dl.models.gan_training`), whose `train_step` alternates their updates.

keras_dl's images are float32 in [0, 1], so every generator ends in a sigmoid. Inputs are
named "noise" (`(batch, latent_dim)`) and, for the conditional generator, "label" (integer,
`(batch,)`); the output layer is "images".
"""

from __future__ import annotations

import math

import keras

from keras_dl.models._common import (
    check_input_shape,
    check_positive_int,
    check_stride2_stages,
    check_units,
)
from keras_dl.models.gan_discriminators import (
    conditional_dcgan_discriminator_for,
    conditional_gan_discriminator_for,
    BN_MOMENTUM,
    dcgan_discriminator_for,
    gan_discriminator_for,
    label_embedding,
)
from keras_dl.models.gan_training import check_gan_loss
from keras_dl.registry import register_model

# Radford et al. 2016, "training details": Adam with learning rate 2e-4 and β₁ = 0.5 (β₁ = 0.9
# oscillated and was unstable); the GAN task sets β₁ on the Adam optimizers it is given.
DCGAN_TRAIN_DEFAULTS = {"epochs": 20, "batch_size": 128, "learning_rate": 2e-4,
                        "adam_beta_1": 0.5}


def _generator(inputs, outputs, gan_loss, name):
    """The generator model, carrying `gan_loss` (an attribute the GAN task reads when it
    pairs it with its discriminator; not part of the saved config)."""
    check_gan_loss(gan_loss)
    model = keras.Model(inputs, outputs, name=name)
    model.gan_loss = gan_loss
    return model


def _noise_input(latent_dim):
    return keras.Input((check_positive_int("latent_dim", latent_dim),), name="noise")


def _labelled_noise(latent_dim, num_classes, embedding_dim):
    """A conditional generator's inputs, "noise" and the integer "label", and the code its
    network starts from: the noise joined to a learnt embedding of the label."""
    noise = _noise_input(latent_dim)
    labels = keras.Input((), dtype="int32", name="label")
    joined = keras.layers.Concatenate(name="generator_join")(
        [noise, label_embedding(labels, num_classes, embedding_dim, "generator_label")])
    return noise, labels, joined


def _dense_pixels(h, input_shape, hidden_units):
    """Dense ReLU layers `generator_dense1..`, then sigmoid pixels reshaped to the image."""
    for index, units in enumerate(hidden_units, start=1):
        h = keras.layers.Dense(units, activation="relu", name=f"generator_dense{index}")(h)
    h = keras.layers.Dense(math.prod(input_shape), activation="sigmoid",
                           name="generator_pixels")(h)
    return keras.layers.Reshape(input_shape, name="images")(h)


def _mlp_search_space(hp):
    """The search space of the MLP GANs (`gan`, `conditional_gan`)."""
    return {
        "latent_dim": hp.Choice("latent_dim", [32, 64, 100]),
        "hidden_units": (hp.Choice("width", [128, 256]),) * hp.Int("depth", 1, 2),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-3, sampling="log"),
    }


@register_model(
    family="gan",
    task="gan",
    search_space=_mlp_search_space,
    smoke_kwargs={"input_shape": (8, 8, 1), "latent_dim": 4, "hidden_units": (8,)},
    smoke_output_shape=(8, 8, 1),
    train_defaults={"epochs": 30, "batch_size": 64, "learning_rate": 2e-4, "adam_beta_1": 0.5},
    task_options={"discriminator": gan_discriminator_for},
    default_params=559_632,
)
def gan(*, input_shape=(28, 28, 1), latent_dim=100, hidden_units=(256, 512),
        gan_loss="non_saturating", name="gan"):
    """GAN (Goodfellow et al. 2014): an MLP generator, trained against an MLP discriminator.

    `G`: noise `z ~ N(0, I)` → Dense ReLU layers → sigmoid pixels reshaped to the image. Its
    discriminator (`gan_discriminator_for`) is the mirror MLP: flatten → Dense LeakyReLU(0.2)
    with dropout, widths reversed → one logit. Trained by the GAN task with the non-saturating
    generator loss `−log D(G(z))` (Goodfellow et al., section 3), or the minimax loss
    `log(1 − D(G(z)))` of eq. 1 with `gan_loss="minimax"` (`--set gan_loss=minimax`).

    Args:
        input_shape: shape of one image (the generator's output).
        latent_dim: dimension of the noise `z`.
        hidden_units: the generator's hidden widths (the discriminator's, reversed).
        gan_loss: the generator's loss in training, "non_saturating" (`−log D(G(z))`) or
            "minimax" (`log(1 − D(G(z)))`).
        name: model name.

    Example:
    ```python
    generator = keras_dl.create_model("gan", input_shape=(28, 28, 1), latent_dim=100)
    images = generator(np.random.default_rng(0).normal(size=(16, 100)))
    ```

    Reference:
        Goodfellow et al. "Generative Adversarial Nets", NeurIPS 2014.
    """
    input_shape = check_input_shape(input_shape)
    hidden_units = check_units("hidden_units", hidden_units)
    noise = _noise_input(latent_dim)
    return _generator(noise, _dense_pixels(noise, input_shape, hidden_units), gan_loss, name)


def _dcgan_search_space(hp):
    """The search space of the convolutional GANs (`dcgan`, `conditional_dcgan`)."""
    return {
        "latent_dim": hp.Choice("latent_dim", [32, 64, 100]),
        "filters": (2 * hp.Choice("filters", [32, 64]), hp.Choice("filters", [32, 64])),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-3, sampling="log"),
    }


@register_model(
    family="gan",
    task="gan",
    search_space=_dcgan_search_space,
    smoke_kwargs={"input_shape": (8, 8, 1), "latent_dim": 4, "filters": (6, 4),
                  "kernel_size": 3},
    smoke_output_shape=(8, 8, 1),
    train_defaults=DCGAN_TRAIN_DEFAULTS,
    task_options={"discriminator": dcgan_discriminator_for},
    default_params=858_945,
)
def dcgan(*, input_shape=(28, 28, 1), latent_dim=100, filters=(128, 64), kernel_size=5,
          gan_loss="non_saturating", name="dcgan"):
    """DCGAN generator (Radford et al. 2016): strided transposed convolutions with batch norm.

    `G`: noise → Dense projection to an `H/2ⁿ × W/2ⁿ × filters[0]` map (n = len(filters)) →
    batch norm → ReLU → for each further width a stride-2 `Conv2DTranspose` → batch norm → ReLU
    → a last stride-2 `Conv2DTranspose` to the image channels with a sigmoid (the paper's tanh,
    moved to keras_dl's [0, 1] pixels). No pooling, no hidden dense layer. Batch norm keeps
    its moving statistics with momentum 0.9 (the reference implementation's), so the samples
    drawn in inference mode follow the generator as it changes. Its discriminator
    (`dcgan_discriminator_for`) mirrors it: stride-2 convolutions with the widths reversed,
    batch norm except on the first, LeakyReLU(0.2), one logit. The registered train defaults
    are the paper's: Adam with learning rate 2e-4 and β₁ = 0.5, batch 128.

    With the default two stages it is sized for 28×28×1 (Fashion-MNIST: 7×7×128 → 14×14×64 →
    28×28×1); any height and width divisible by 2^len(filters) work.

    Args:
        input_shape: (height, width, channels) of the images.
        latent_dim: dimension of the noise `z`.
        filters: channels of the projected map and of each upsampling stage but the last.
        kernel_size: kernel size of every transposed convolution (5 in the paper's figure).
        gan_loss: the generator's loss in training, "non_saturating" (`−log D(G(z))`) or
            "minimax" (`log(1 − D(G(z)))`).
        name: model name.

    Example:
    ```python
    generator = keras_dl.create_model("dcgan", input_shape=(28, 28, 1))
    ```

    Reference:
        Radford, Metz & Chintala. "Unsupervised Representation Learning with Deep
        Convolutional Generative Adversarial Networks", ICLR 2016.
    """
    input_shape = check_input_shape(input_shape, rank=3)
    filters = check_stride2_stages(input_shape, filters)
    kernel_size = check_positive_int("kernel_size", kernel_size)
    noise = _noise_input(latent_dim)
    return _generator(noise, _upsample(noise, input_shape, filters, kernel_size), gan_loss, name)


def _upsample(h, input_shape, filters, kernel_size):
    """DCGAN's generator from a code `h` (`(batch, features)`) to sigmoid images: the Dense
    projection to the smallest map, then the stride-2 transposed convolutions."""
    factor = 2 ** len(filters)
    smallest = (input_shape[0] // factor, input_shape[1] // factor, filters[0])
    h = keras.layers.Dense(math.prod(smallest), use_bias=False, name="generator_project")(h)
    h = keras.layers.BatchNormalization(momentum=BN_MOMENTUM,
                                           name="generator_project_bn")(h)
    h = keras.layers.ReLU(name="generator_project_relu")(h)
    h = keras.layers.Reshape(smallest, name="generator_reshape")(h)
    widths = (*filters[1:], input_shape[-1])
    for index, width in enumerate(widths, start=1):
        last = index == len(widths)
        h = keras.layers.Conv2DTranspose(width, kernel_size, strides=2, padding="same",
                                         use_bias=last, activation="sigmoid" if last else None,
                                         name="images" if last else f"generator_deconv{index}")(h)
        if not last:
            h = keras.layers.BatchNormalization(momentum=BN_MOMENTUM,
                                                   name=f"generator_bn{index}")(h)
            h = keras.layers.ReLU(name=f"generator_relu{index}")(h)
    return h


@register_model(
    family="gan",
    task="gan",
    search_space=_mlp_search_space,
    smoke_kwargs={"input_shape": (8, 8, 1), "latent_dim": 4, "num_classes": 3,
                  "hidden_units": (8,), "embedding_dim": 2},
    smoke_output_shape=(8, 8, 1),
    train_defaults={"epochs": 30, "batch_size": 64, "learning_rate": 2e-4, "adam_beta_1": 0.5},
    task_options={"discriminator": conditional_gan_discriminator_for},
    default_params=562_292,
)
def conditional_gan(*, input_shape=(28, 28, 1), latent_dim=100, num_classes=10,
                    hidden_units=(256, 512), embedding_dim=None, gan_loss="non_saturating",
                    name="conditional_gan"):
    """Conditional GAN generator (Mirza & Osindero 2014): `G(z | y)` and `D(x | y)`.

    `G`: a learnt embedding of the integer label `y` is joined to the noise `z`, then Dense
    ReLU layers → sigmoid pixels. Its discriminator (`conditional_gan_discriminator_for`)
    joins its own embedding of `y` to the flattened image, then the mirror MLP → one logit.
    Both networks see the label, so the game becomes
    `min_G max_D E[log D(x | y)] + E[log(1 − D(G(z | y) | y))]` (Mirza & Osindero, eq. 2),
    and a trained generator draws the class it is asked for. A label outside
    `0..num_classes-1` is refused (`keras_dl.tasks.gan.check_generator_inputs`, and by the
    served model).

    Args:
        input_shape: shape of one image.
        latent_dim: dimension of the noise `z`.
        num_classes: number of labels.
        hidden_units: the generator's hidden widths (the discriminator's, reversed).
        embedding_dim: width of the label embedding (default: `num_classes`, as wide as the
            paper's one-hot label).
        gan_loss: the generator's loss in training, "non_saturating" (`−log D(G(z))`) or
            "minimax" (`log(1 − D(G(z)))`).
        name: model name.

    Example:
    ```python
    generator = keras_dl.create_model("conditional_gan", num_classes=10)
    images = generator({"noise": np.random.default_rng(0).normal(size=(10, 100)),
                        "label": np.arange(10)})
    ```

    Reference:
        Mirza & Osindero. "Conditional Generative Adversarial Nets", arXiv:1411.1784, 2014.
    """
    input_shape = check_input_shape(input_shape)
    hidden_units = check_units("hidden_units", hidden_units)
    num_classes = check_positive_int("num_classes", num_classes)
    embedding_dim = check_positive_int("embedding_dim", embedding_dim or num_classes)
    noise, labels, joined = _labelled_noise(latent_dim, num_classes, embedding_dim)
    images = _dense_pixels(joined, input_shape, hidden_units)
    return _generator([noise, labels], images, gan_loss, name)


@register_model(
    family="gan",
    task="gan",
    search_space=_dcgan_search_space,
    smoke_kwargs={"input_shape": (8, 8, 1), "latent_dim": 4, "num_classes": 3,
                  "filters": (6, 4), "kernel_size": 3, "embedding_dim": 2},
    smoke_output_shape=(8, 8, 1),
    train_defaults=DCGAN_TRAIN_DEFAULTS,
    task_options={"discriminator": conditional_dcgan_discriminator_for},
    default_params=1_173_045,
)
def conditional_dcgan(*, input_shape=(28, 28, 1), latent_dim=100, num_classes=10,
                      filters=(128, 64), kernel_size=5, embedding_dim=50,
                      gan_loss="non_saturating", name="conditional_dcgan"):
    """Conditional DCGAN: Mirza & Osindero's label conditioning `G(z | y)`, `D(x | y)` on
    Radford et al.'s convolutional networks.

    `G`: a learnt embedding of the integer label is joined to the noise, then `dcgan`'s
    generator (Dense projection → batch norm → ReLU → stride-2 transposed convolutions →
    sigmoid images). Its discriminator (`conditional_dcgan_discriminator_for`) is `dcgan`'s,
    reading the label as one more image channel: the label's own embedding mapped by a Dense
    layer to an image-sized plane. The game is Mirza & Osindero's eq. 2, as for
    `conditional_gan`; the convolutional networks learn Fashion-MNIST's classes in far fewer
    updates than the MLPs do (`bench/RESULTS.md`, "GANs against a VAE"). Labels outside
    `0..num_classes-1` are refused, by the task and by the served model.

    Args:
        input_shape: (height, width, channels), height and width divisible by
            2^len(filters).
        latent_dim: dimension of the noise `z`.
        num_classes: number of labels.
        filters: channels of the projected map and of each upsampling stage but the last.
        kernel_size: kernel size of every (transposed) convolution.
        embedding_dim: width of the label embedding, in the generator and the discriminator.
        gan_loss: the generator's loss in training, "non_saturating" or "minimax".
        name: model name.

    Example:
    ```python
    generator = keras_dl.create_model("conditional_dcgan", num_classes=10)
    images = generator({"noise": np.random.default_rng(0).normal(size=(10, 100)),
                        "label": np.arange(10)})
    ```

    References:
        Mirza & Osindero. "Conditional Generative Adversarial Nets", arXiv:1411.1784, 2014.
        Radford, Metz & Chintala. "Unsupervised Representation Learning with Deep
        Convolutional Generative Adversarial Networks", ICLR 2016.
    """
    input_shape = check_input_shape(input_shape, rank=3)
    filters = check_stride2_stages(input_shape, filters)
    kernel_size = check_positive_int("kernel_size", kernel_size)
    num_classes = check_positive_int("num_classes", num_classes)
    embedding_dim = check_positive_int("embedding_dim", embedding_dim)
    noise, labels, joined = _labelled_noise(latent_dim, num_classes, embedding_dim)
    images = _upsample(joined, input_shape, filters, kernel_size)
    return _generator([noise, labels], images, gan_loss, name)
