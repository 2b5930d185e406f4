"""The reconstruction term −log p(x | z) of a VAE, added as a loss by a pass-through layer."""

from __future__ import annotations

import keras
from keras import ops

DISTRIBUTIONS = ("bernoulli", "gaussian")
_EPSILON = 1e-7
_LOG_2PI = 1.8378770664093453


def negative_log_likelihood(x, x_hat, distribution="bernoulli"):
    """Per-example `−log p(x | x̂)` in nats, summed over every input dimension.

    "bernoulli": `−Σ x log x̂ + (1 − x) log(1 − x̂)`, for intensities in [0, 1] (Kingma &
    Welling's MNIST decoder); "gaussian": a unit-variance Gaussian,
    `½ Σ (x − x̂)² + ½ D log 2π`.
    """
    x = ops.reshape(x, (ops.shape(x)[0], -1))
    x_hat = ops.reshape(x_hat, (ops.shape(x_hat)[0], -1))
    if distribution == "bernoulli":
        x_hat = ops.clip(x_hat, _EPSILON, 1.0 - _EPSILON)
        return -ops.sum(x * ops.log(x_hat) + (1.0 - x) * ops.log(1.0 - x_hat), axis=-1)
    dims = ops.cast(ops.shape(x)[-1], x.dtype)
    return 0.5 * ops.sum(ops.square(x - x_hat), axis=-1) + 0.5 * dims * _LOG_2PI


@keras.saving.register_keras_serializable(package="keras_dl")
class ReconstructionLoss(keras.layers.Layer):
    """Adds `weight · mean_batch(−log p(x | x̂))` as a loss and passes `x̂` through.

    Called on `[x, x_hat]`; returns `x_hat`. With `Sampling`'s KL term this makes the model's
    total loss the negative ELBO, summed over pixels as the bound requires (a per-pixel mean,
    as Keras' own losses compute, would weigh the KL term 784 times too much).

    Args:
        distribution: "bernoulli" (x̂ are probabilities; binary cross-entropy summed over
            pixels) or "gaussian" (unit variance; half the summed squared error plus a
            constant).
        weight: the weight of the term (0: the lecture's "KL only" latent space).

    Example:
    ```python
    x_hat = keras_dl.layers.ReconstructionLoss("bernoulli")([inputs, decoded])
    ```

    Reference:
        Kingma & Welling. "Auto-Encoding Variational Bayes", ICLR 2014, appendix C.
    """

    def __init__(self, distribution="bernoulli", weight=1.0, **kwargs):
        super().__init__(**kwargs)
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"ReconstructionLoss distribution must be one of "
                             f"{', '.join(DISTRIBUTIONS)}; got {distribution!r}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
            raise ValueError(f"ReconstructionLoss weight must be a non-negative number, "
                             f"got {weight!r}")
        self.distribution = distribution
        self.weight = float(weight)

    def call(self, inputs):
        x, x_hat = inputs
        if self.weight:
            nll = negative_log_likelihood(x, x_hat, self.distribution)
            self.add_loss(self.weight * ops.mean(nll))
        return x_hat

    def compute_output_shape(self, input_shape):
        return input_shape[1]

    def get_config(self):
        config = super().get_config()
        config.update({"distribution": self.distribution, "weight": self.weight})
        return config
