"""The VAE reparameterisation trick, with the KL divergence to the prior added as a loss."""

from __future__ import annotations

import keras
from keras import ops


def kl_divergence(z_mean, z_log_var):
    """Per-example `KL(N(μ, diag σ²) ‖ N(0, I)) = -½ Σ_j (1 + log σ_j² − μ_j² − σ_j²)`, in nats."""
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


@keras.saving.register_keras_serializable(package="keras_dl")
class Sampling(keras.layers.Layer):
    """Draws `z = μ + σ·ε`, `ε ~ N(0, I)`, and adds `β·KL(q(z|x) ‖ N(0, I))` as a loss.

    Takes `[z_mean, z_log_var]` (μ and log σ² from the encoder). The noise enters as an input
    of a deterministic function of μ and σ, so gradients reach the encoder (Kingma & Welling's
    reparameterisation). The KL term, averaged over the batch, is added with `add_loss`, so a
    plain `fit()` minimises the negative ELBO when the model also adds its reconstruction term
    (`ReconstructionLoss`). With `β = 1` that is the VAE; `β > 1` is the β-VAE; `β = 0` drops
    the prior (the lecture's "reconstruction only" latent space).

    At inference (`training=False`) the layer returns `z = μ` unless `sample_at_inference`:
    a served reconstruction is then deterministic (and comparable, e.g. for SavedModel
    parity); `sample()` draws from `q(z|x)` on demand, with fresh noise on every call.

    Args:
        beta: β ≥ 0, the weight of the KL term.
        sample_at_inference: draw `z` at inference too (instead of returning `μ`).
        seed: seed of the noise.

    Example:
    ```python
    z_mean = keras.layers.Dense(2)(h)
    z_log_var = keras.layers.Dense(2)(h)
    z = keras_dl.layers.Sampling(beta=1.0)([z_mean, z_log_var])
    ```

    Reference:
        Kingma & Welling. "Auto-Encoding Variational Bayes", ICLR 2014 (equation 10 and
        appendix B); Higgins et al. "β-VAE", ICLR 2017.
    """

    def __init__(self, beta=1.0, sample_at_inference=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta >= 0:
            raise ValueError(f"Sampling beta must be a non-negative number, got {beta!r}")
        self.beta = float(beta)
        self.sample_at_inference = bool(sample_at_inference)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def sample(self, z_mean, z_log_var):
        """One draw `μ + exp(½ log σ²)·ε` (fresh noise on every call; no loss added)."""
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator,
                                      dtype=z_mean.dtype)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def call(self, inputs, training=False):
        z_mean, z_log_var = inputs
        if self.beta:
            self.add_loss(self.beta * ops.mean(kl_divergence(z_mean, z_log_var)))
        if training or self.sample_at_inference:
            return self.sample(z_mean, z_log_var)
        return z_mean

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"beta": self.beta, "sample_at_inference": self.sample_at_inference,
                       "seed": self.seed})
        return config
