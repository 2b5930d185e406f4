"""Reconstruction: an autoencoder trained with `fit(x, x)` to reproduce its input.

The loss is the registration's `loss` ("mse", or "binary_crossentropy" for inputs in [0, 1]:
the cross-entropy reconstruction error of Bengio et al. 2007), with the mean squared error as a
metric. An export serves the reconstruction under `serving_default` and, for a model built
by keras_dl's autoencoder builders, `encode` (input → code) and `decode` (code →
reconstruction) beside it.
"""

from __future__ import annotations

import keras

from keras_dl.tasks.base import Task


class ServedAsAutoencoder:
    """Serving of an autoencoder: `serving_default` gives "reconstruction", with `encode`
    and `decode` (a VAE: and `sample`) beside it for keras_dl's autoencoder builders."""

    def output_names(self, model):
        return ("reconstruction",)

    def export_endpoints(self, model, input_spec):
        return autoencoder_endpoints(model, input_spec)

    def deterministic_endpoints(self, model):
        return autoencoder_parity(model)


class Reconstruction(ServedAsAutoencoder, Task):
    """`fit(x, x)` with the registration's reconstruction loss."""

    name = "reconstruction"
    # `--loss` names → Keras' losses against the input (lecture 004's L2, L1; cross-entropy
    # for inputs in [0, 1])
    LOSS_NAMES = {"l2": "mse", "l1": "mae", "cross_entropy": "binary_crossentropy"}
    losses = tuple(LOSS_NAMES)

    def targets(self, x, y):
        return x, x

    def compile(self, model, optimizer, info=None):
        loss = getattr(info, "loss", None) or "mse"
        model.compile(optimizer=optimizer, loss=self.LOSS_NAMES.get(loss, loss),
                      metrics=[keras.metrics.MeanSquaredError(name="mse")])
        return model

    def smoke_output_shape(self, info, model):
        if info.smoke_output_shape is not None:
            return tuple(info.smoke_output_shape)
        return tuple(model.inputs[0].shape[1:])


def autoencoder_endpoints(model, input_spec) -> dict:
    """`encode` and `decode` (and, for a VAE, `sample`) of a keras_dl autoencoder; `{}` for
    a model that does not follow `keras_dl.models.autoencoders`' structure (a decoder alone)."""
    import tensorflow as tf

    from keras_dl.models import autoencoders

    if not autoencoders.is_autoencoder(model):
        return {}
    encoder, decoder = autoencoders.encoder(model), autoencoders.decoder(model)
    code = decoder.inputs[0]
    code_spec = tf.TensorSpec(code.shape, code.dtype or "float32",
                              name=code.name.split(":")[0])
    vae = autoencoders.is_vae(model)

    def encode(inputs):
        if vae:
            z_mean, z_log_var = encoder(inputs, training=False)
            return {"z_mean": z_mean, "z_log_var": z_log_var}
        return {"code": encoder(inputs, training=False)}

    def decode(code):
        return {"reconstruction": decoder(code, training=False)}

    endpoints = {"encode": (encode, [input_spec]), "decode": (decode, [code_spec])}
    if vae:
        sampling = autoencoders.sampler(model)

        def sample(inputs):
            z_mean, z_log_var = encoder(inputs, training=False)
            z = sampling.sample(z_mean, z_log_var)
            return {"reconstruction": decoder(z, training=False), "z": z}

        endpoints["sample"] = (sample, [input_spec])
    return endpoints


def autoencoder_parity(model) -> dict:
    """The expected outputs of `encode` and `decode` (`decode` is fed the encoder's code, or
    a VAE's `z_mean`), for the export's parity check."""
    from keras_dl.models import autoencoders

    if not autoencoders.is_autoencoder(model):
        return {}
    encoder, decoder = autoencoders.encoder(model), autoencoders.decoder(model)
    if autoencoders.is_vae(model):
        return {
            "encode": lambda x: dict(zip(("z_mean", "z_log_var"), encoder(x, training=False))),
            "decode": (lambda x: encoder(x, training=False)[0],
                       lambda code: {"reconstruction": decoder(code, training=False)}),
        }
    return {
        "encode": lambda x: {"code": encoder(x, training=False)},
        "decode": (lambda x: encoder(x, training=False),
                   lambda code: {"reconstruction": decoder(code, training=False)}),
    }
