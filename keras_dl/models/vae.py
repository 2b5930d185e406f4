"""Variational autoencoders (Kingma & Welling 2014; lecture 004), dense and convolutional.

The encoder gives the mean and log-variance of `q(z|x)` (`z_mean`, `z_log_var`); the
`Sampling` layer `z` draws from it and adds the KL term; the decoder's output goes through
`ReconstructionLoss` (`reconstruction`), which adds `−log p(x|z)`. The model carries its
whole loss, so it trains with `fit(x)`. Layer names follow `keras_dl.models.autoencoders`'
convention: `encoder(model)`, `decoder(model)` and `sampler(model)` take it apart.
"""

from __future__ import annotations

import math

import keras

from keras_dl.layers import ReconstructionLoss, Sampling
from keras_dl.layers.reconstruction_loss import DISTRIBUTIONS
from keras_dl.models._common import (
    check_choice,
    check_input_shape,
    check_non_negative,
    check_positive_int,
    check_stride2_stages,
    check_units,
)
from keras_dl.models.autoencoders import ACTIVATIONS
from keras_dl.registry import register_model


def _vae_head(inputs, h, decoder_body, *, latent_dim, beta, reconstruction_weight,
              distribution, seed, name):
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = keras.layers.Dense(latent_dim, kernel_initializer="zeros", name="z_log_var")(h)
    z = Sampling(beta=beta, seed=seed, name="z")([z_mean, z_log_var])
    x_hat = decoder_body(z)
    outputs = ReconstructionLoss(distribution, reconstruction_weight,
                                 name="reconstruction")([inputs, x_hat])
    return keras.Model(inputs, outputs, name=name)


def _check_vae(latent_dim, beta, reconstruction_weight, distribution):
    latent_dim = check_positive_int("latent_dim", latent_dim)
    beta = check_non_negative("beta", beta)
    reconstruction_weight = check_non_negative("reconstruction_weight", reconstruction_weight)
    check_choice("distribution", distribution, DISTRIBUTIONS)
    return latent_dim, beta, reconstruction_weight


_VAE_SEARCH = {
    "latent_dim": lambda hp: hp.Choice("latent_dim", [2, 8, 16, 32]),
    "beta": lambda hp: hp.Choice("beta", [0.5, 1.0, 2.0, 4.0]),
}


@register_model(
    family="autoencoder",
    task="variational_autoencoder",
    search_space=lambda hp: {
        "latent_dim": _VAE_SEARCH["latent_dim"](hp),
        "hidden_units": (hp.Choice("hidden", [256, 512]),) * hp.Int("depth", 1, 2),
        "beta": _VAE_SEARCH["beta"](hp),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "latent_dim": 2, "hidden_units": (6,)},
    smoke_output_shape=(8, 8, 1),
    train_defaults={"epochs": 30, "batch_size": 128, "learning_rate": 1e-3},
)
def vae(*, input_shape=(28, 28, 1), latent_dim=2, hidden_units=(512,), activation="relu",
        beta=1.0, reconstruction_weight=1.0, distribution="bernoulli", seed=None, name="vae"):
    """Variational autoencoder with dense encoder and decoder (Kingma & Welling 2014).

    The encoder gives `μ` (`z_mean`) and `log σ²` (`z_log_var`) of `q(z|x)`; `Sampling`
    draws `z = μ + σ·ε` and adds `β·KL(q(z|x) ‖ N(0, I))`; the decoder maps `z` to pixel
    probabilities, and `ReconstructionLoss` adds `−log p(x|z)` summed over pixels. The model
    carries its whole loss (the negative ELBO when β = 1), so it trains with `fit(x)`.
    Served, it reconstructs from `z = μ` (deterministic); export adds a `sample` endpoint
    that draws `z ~ q(z|x)` with fresh noise on each call.

    `reconstruction_weight=0` (KL only) and `beta=0` (reconstruction only) give the lecture's
    two degenerate latent spaces (`apps/vae_latent_space.py`).

    Args:
        input_shape: shape of one example.
        latent_dim: dimension of `z` (2 for pictures of the latent space).
        hidden_units: hidden widths of the encoder; the decoder mirrors them.
        activation: hidden activation.
        beta: β ≥ 0, weight of the KL term.
        reconstruction_weight: weight ≥ 0 of `−log p(x|z)`.
        distribution: "bernoulli" (intensities in [0, 1]; sigmoid output, summed binary
            cross-entropy) or "gaussian" (unit variance; half the summed squared error).
        seed: seed of the sampler.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("vae", latent_dim=2)
    model.compile("adam")
    model.fit(x_train, epochs=30, batch_size=128)
    images = keras_dl.models.autoencoders.decoder(model).predict(z_grid)
    ```

    Reference:
        Kingma & Welling. "Auto-Encoding Variational Bayes", ICLR 2014.
    """
    input_shape = check_input_shape(input_shape)
    latent_dim, beta, reconstruction_weight = _check_vae(latent_dim, beta,
                                                         reconstruction_weight, distribution)
    hidden_units = check_units("hidden_units", hidden_units)
    check_choice("activation", activation, ACTIVATIONS)
    output_activation = "sigmoid" if distribution == "bernoulli" else "linear"
    inputs = keras.Input(input_shape, name="inputs")
    h = keras.layers.Flatten(name="encoder_flatten")(inputs) if len(input_shape) > 1 else inputs
    for index, units in enumerate(hidden_units, start=1):
        h = keras.layers.Dense(units, activation=activation, name=f"encoder_dense{index}")(h)

    def decoder_body(z):
        x = z
        for index, units in enumerate(reversed(hidden_units), start=1):
            x = keras.layers.Dense(units, activation=activation, name=f"decoder_dense{index}")(x)
        x = keras.layers.Dense(math.prod(input_shape), activation=output_activation,
                               name="decoder_pixels")(x)
        return keras.layers.Reshape(input_shape, name="decoder_output")(x)

    return _vae_head(inputs, h, decoder_body, latent_dim=latent_dim, beta=beta,
                     reconstruction_weight=reconstruction_weight, distribution=distribution,
                     seed=seed, name=name)


@register_model(
    family="autoencoder",
    task="variational_autoencoder",
    search_space=lambda hp: {
        "latent_dim": _VAE_SEARCH["latent_dim"](hp),
        "filters": (hp.Choice("filters", [16, 32]), 2 * hp.Choice("filters", [16, 32])),
        "beta": _VAE_SEARCH["beta"](hp),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "latent_dim": 2, "filters": (4, 6),
                  "hidden_units": 8},
    smoke_output_shape=(8, 8, 1),
    train_defaults={"epochs": 30, "batch_size": 128, "learning_rate": 1e-3},
)
def conv_vae(*, input_shape=(28, 28, 1), latent_dim=2, filters=(32, 64), kernel_size=3,
             hidden_units=16, activation="relu", beta=1.0, reconstruction_weight=1.0,
             distribution="bernoulli", seed=None, name="conv_vae"):
    """Convolutional VAE: stride-2 `Conv2D` encoder, `Conv2DTranspose` decoder.

    As `vae`, with the encoder `Conv2D` stages → flatten → Dense(`hidden_units`) → μ, log σ²,
    and the decoder Dense → reshape to the smallest feature map → stride-2 transposed
    convolutions → a 3×3 convolution to the input channels (the Keras VAE example's layout).
    Height and width must be divisible by 2^len(filters).

    Args:
        input_shape: (height, width, channels).
        latent_dim: dimension of `z`.
        filters: channels of each stride-2 stage.
        kernel_size: kernel size of every (transposed) convolution.
        hidden_units: width of the dense layer between the feature maps and `z`.
        activation: hidden activation.
        beta: β ≥ 0, weight of the KL term.
        reconstruction_weight: weight ≥ 0 of `−log p(x|z)`.
        distribution: "bernoulli" or "gaussian" (see `vae`).
        seed: seed of the sampler.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("conv_vae", latent_dim=16)
    ```

    Reference:
        Kingma & Welling. "Auto-Encoding Variational Bayes", ICLR 2014; Chollet,
        "Variational AutoEncoder" (keras.io example, 2020), for the convolutional layout.
    """
    input_shape = check_input_shape(input_shape, rank=3)
    latent_dim, beta, reconstruction_weight = _check_vae(latent_dim, beta,
                                                         reconstruction_weight, distribution)
    filters = check_stride2_stages(input_shape, filters)
    kernel_size = check_positive_int("kernel_size", kernel_size)
    hidden_units = check_positive_int("hidden_units", hidden_units)
    check_choice("activation", activation, ACTIVATIONS)
    output_activation = "sigmoid" if distribution == "bernoulli" else "linear"
    inputs = keras.Input(input_shape, name="inputs")
    h = inputs
    for index, width in enumerate(filters, start=1):
        h = keras.layers.Conv2D(width, kernel_size, strides=2, padding="same",
                                activation=activation, name=f"encoder_conv{index}")(h)
    smallest = tuple(h.shape[1:])
    h = keras.layers.Flatten(name="encoder_flatten")(h)
    h = keras.layers.Dense(hidden_units, activation=activation, name="encoder_dense")(h)

    def decoder_body(z):
        x = keras.layers.Dense(math.prod(smallest), activation=activation,
                               name="decoder_dense")(z)
        x = keras.layers.Reshape(smallest, name="decoder_reshape")(x)
        for index, width in enumerate(reversed(filters), start=1):
            x = keras.layers.Conv2DTranspose(width, kernel_size, strides=2, padding="same",
                                             activation=activation,
                                             name=f"decoder_deconv{index}")(x)
        return keras.layers.Conv2D(input_shape[-1], 3, padding="same",
                                   activation=output_activation, name="decoder_output")(x)

    return _vae_head(inputs, h, decoder_body, latent_dim=latent_dim, beta=beta,
                     reconstruction_weight=reconstruction_weight, distribution=distribution,
                     seed=seed, name=name)

