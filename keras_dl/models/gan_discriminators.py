"""The discriminators of the GAN family (lecture 004), and how each is made to match a generator.

A GAN's registered model is its generator (the network that is saved, exported and served);
its discriminator exists only for training. The registration names, in `task_options`, a
function of the generator returning a matching discriminator (`gan_discriminator_for`,
`dcgan_discriminator_for`, `conditional_gan_discriminator_for`), so the GAN task builds the
pair from any generator of the family, a freshly built one or one loaded from `model.keras`.
Each discriminator mirrors its generator: the same widths in reverse order, as in
Radford et al. 2016.

A discriminator outputs one logit `l` per image ("logit"): `D(x) = σ(l)`, the probability that
`x` is a training image. Losses are computed from the logit (`keras_dl.models.gan_training`),
where `log σ(l)` and `log(1 − σ(l))` are numerically stable.
"""

from __future__ import annotations

import keras

from keras_dl.models._common import (
    check_fraction,
    check_input_shape,
    check_positive_int,
    check_stride2_stages,
    check_units,
)

LEAKY_SLOPE = 0.2  # Radford et al. 2016: LeakyReLU with slope 0.2 in every discriminator layer
# Batch norm's moving statistics follow a GAN's fast-changing networks closely (0.9: PyTorch's
# default momentum 0.1, that of the DCGAN reference implementation; Keras' own is 0.99)
BN_MOMENTUM = 0.9


def _layers_named(model, prefix):
    """The layers `PREFIX1`, `PREFIX2`, ... of `model`, in order, until one is missing."""
    found, index = [], 1
    names = {layer.name for layer in model.layers}
    while f"{prefix}{index}" in names:
        found.append(model.get_layer(f"{prefix}{index}"))
        index += 1
    return found


def _image_shape(generator):
    return tuple(int(d) for d in generator.outputs[0].shape[1:])


def label_embedding(labels, num_classes, embedding_dim, name):
    """A learnt embedding `(batch, embedding_dim)` of the integer labels `(batch,)`."""
    return keras.layers.Embedding(num_classes, embedding_dim, name=f"{name}_embedding")(labels)


def mlp_discriminator(*, input_shape, hidden_units=(512, 256), num_classes=None,
                      embedding_dim=None, dropout=0.3, name="discriminator"):
    """MLP discriminator (Goodfellow et al. 2014; with a label, Mirza & Osindero 2014).

    The image is flattened; a conditional discriminator (`num_classes` given) joins a learnt
    embedding of the integer label to it (Mirza & Osindero's `D(x | y)`). Hidden layers are
    Dense → LeakyReLU(0.2) → dropout (Goodfellow et al. trained D with dropout); the output is
    the logit of `D(x)`.

    Args:
        input_shape: shape of one image.
        hidden_units: hidden widths.
        num_classes: classes of the label input (None: unconditional, one input).
        embedding_dim: width of the label embedding (default: `num_classes`).
        dropout: dropout rate after each hidden layer.
        name: model name.

    Reference:
        Goodfellow et al. "Generative Adversarial Nets", NeurIPS 2014; Mirza & Osindero,
        "Conditional Generative Adversarial Nets", arXiv:1411.1784, 2014.
    """
    input_shape = check_input_shape(input_shape)
    hidden_units = check_units("hidden_units", hidden_units)
    dropout = check_fraction("dropout", dropout)
    images = keras.Input(input_shape, name="images")
    h = keras.layers.Flatten(name="discriminator_flatten")(images)
    inputs = [images]
    if num_classes is not None:
        num_classes = check_positive_int("num_classes", num_classes)
        embedding_dim = check_positive_int("embedding_dim", embedding_dim or num_classes)
        labels = keras.Input((), dtype="int32", name="label")
        inputs.append(labels)
        h = keras.layers.Concatenate(name="discriminator_join")(
            [h, label_embedding(labels, num_classes, embedding_dim, "discriminator_label")])
    for index, units in enumerate(hidden_units, start=1):
        h = keras.layers.Dense(units, name=f"discriminator_dense{index}")(h)
        h = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"discriminator_lrelu{index}")(h)
        if dropout:
            h = keras.layers.Dropout(dropout, name=f"discriminator_dropout{index}")(h)
    logit = keras.layers.Dense(1, name="logit")(h)
    return keras.Model(inputs if len(inputs) > 1 else images, logit, name=name)


def conv_discriminator(*, input_shape, filters=(64, 128), kernel_size=5, num_classes=None,
                       embedding_dim=None, name="discriminator"):
    """DCGAN discriminator (Radford et al. 2016): strided convolutions, no pooling.

    Each stage is a stride-2 `Conv2D` → batch norm (not on the first stage, as in the paper)
    → LeakyReLU(0.2); the last feature map is flattened into one Dense logit. A conditional
    discriminator (`num_classes` given) reads `D(x | y)`: a learnt embedding of the label is
    mapped by a Dense layer to one image-sized plane, joined to the image as an extra channel.

    Args:
        input_shape: (height, width, channels), height and width divisible by 2^len(filters).
        filters: channels of each stride-2 stage.
        kernel_size: kernel size of every convolution.
        num_classes: classes of the label input (None: unconditional, one input).
        embedding_dim: width of the label embedding (default: `num_classes`).
        name: model name.

    Reference:
        Radford, Metz & Chintala. "Unsupervised Representation Learning with Deep
        Convolutional Generative Adversarial Networks", ICLR 2016.
    """
    input_shape = check_input_shape(input_shape, rank=3)
    filters = check_stride2_stages(input_shape, filters)
    kernel_size = check_positive_int("kernel_size", kernel_size)
    images = keras.Input(input_shape, name="images")
    h, inputs = images, [images]
    if num_classes is not None:
        num_classes = check_positive_int("num_classes", num_classes)
        embedding_dim = check_positive_int("embedding_dim", embedding_dim or num_classes)
        labels = keras.Input((), dtype="int32", name="label")
        inputs.append(labels)
        plane = keras.layers.Dense(input_shape[0] * input_shape[1],
                                   name="discriminator_label_plane")(
            label_embedding(labels, num_classes, embedding_dim, "discriminator_label"))
        plane = keras.layers.Reshape((*input_shape[:2], 1),
                                     name="discriminator_label_reshape")(plane)
        h = keras.layers.Concatenate(name="discriminator_join")([images, plane])
    for index, width in enumerate(filters, start=1):
        h = keras.layers.Conv2D(width, kernel_size, strides=2, padding="same",
                                use_bias=index == 1, name=f"discriminator_conv{index}")(h)
        if index > 1:
            h = keras.layers.BatchNormalization(momentum=BN_MOMENTUM,
                                                    name=f"discriminator_bn{index}")(h)
        h = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"discriminator_lrelu{index}")(h)
    h = keras.layers.Flatten(name="discriminator_flatten")(h)
    logit = keras.layers.Dense(1, name="logit")(h)
    return keras.Model(inputs if len(inputs) > 1 else images, logit, name=name)


# === Discriminators matching a generator (the registrations' task_options) ====================


def gan_discriminator_for(generator) -> keras.Model:
    """The MLP discriminator of a `gan` generator: its hidden widths in reverse order."""
    widths = [layer.units for layer in _layers_named(generator, "generator_dense")]
    return mlp_discriminator(input_shape=_image_shape(generator),
                             hidden_units=tuple(reversed(widths)),
                             name=f"{generator.name}_discriminator")


def dcgan_discriminator_for(generator) -> keras.Model:
    """The convolutional discriminator of a `dcgan` generator: the channels of its
    upsampling stages in reverse order, the same kernel size."""
    deconvs = _layers_named(generator, "generator_deconv")
    project = generator.get_layer("generator_reshape")
    widths = [int(project.target_shape[-1])] + [layer.filters for layer in deconvs]
    return conv_discriminator(input_shape=_image_shape(generator),
                              filters=tuple(reversed(widths)),
                              kernel_size=generator.get_layer("images").kernel_size[0],
                              name=f"{generator.name}_discriminator")


def conditional_dcgan_discriminator_for(generator) -> keras.Model:
    """The label-conditioned convolutional discriminator of a `conditional_dcgan` generator:
    `dcgan_discriminator_for`'s stages, a label embedding of the generator's classes and
    width."""
    plain = dcgan_discriminator_for(generator)
    embedding = generator.get_layer("generator_label_embedding")
    convs = _layers_named(plain, "discriminator_conv")
    return conv_discriminator(input_shape=_image_shape(generator),
                              filters=tuple(layer.filters for layer in convs),
                              kernel_size=convs[0].kernel_size[0],
                              num_classes=embedding.input_dim,
                              embedding_dim=embedding.output_dim,
                              name=f"{generator.name}_discriminator")


def conditional_gan_discriminator_for(generator) -> keras.Model:
    """The label-conditioned MLP discriminator of a `conditional_gan` generator: its hidden
    widths in reverse order, a label embedding of the generator's classes and width."""
    widths = [layer.units for layer in _layers_named(generator, "generator_dense")]
    embedding = generator.get_layer("generator_label_embedding")
    return mlp_discriminator(input_shape=_image_shape(generator),
                             hidden_units=tuple(reversed(widths)),
                             num_classes=embedding.input_dim, embedding_dim=embedding.output_dim,
                             name=f"{generator.name}_discriminator")
