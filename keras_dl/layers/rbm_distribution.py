"""The distribution an RBM defines: its energy, free energy, conditionals and Gibbs chain.

`RBMDistribution` holds the methods of `keras_dl.layers.RBM` that read its weights but do not
train them (the layer and its contrastive-divergence training are in `keras_dl.layers.rbm`).
It expects of the class it is mixed into: `visible` ("bernoulli" or "gaussian"), the weights
`kernel` (D×H), `visible_bias` (D) and `hidden_bias` (H), a `seed_generator` and Keras'
`compute_dtype`.
"""

from __future__ import annotations

import numbers

import keras
import numpy as np
from keras import ops


def _concrete(x):
    """`x` as a numpy array when it has a value now (eager), else None (symbolic, traced)."""
    if isinstance(x, np.ndarray):
        return x
    if keras.backend.is_keras_tensor(x):
        return None
    try:
        return np.asarray(x)
    except Exception:  # a traced tensor (tf.function, jax.jit) has no value yet
        return None


class RBMDistribution:
    """The RBM's energy `E(v, h)`, free energy `F(v)`, conditionals `Q(h | v)`, `P(v | h)`,
    their samples and block Gibbs sampling (see `keras_dl.layers.RBM` for the formulas)."""

    def check_inputs(self, x):
        """`ValueError` unless `x` (numpy data about to be fitted) suits the visible units.

        A Bernoulli RBM needs values in [0, 1]. Its methods check eager inputs themselves, but
        inside a compiled `fit()` nothing can look at values, so trainers call this first.
        """
        self._check_visible(np.asarray(x))

    def _check_visible(self, v):
        """Eager inputs of a Bernoulli RBM must lie in [0, 1]; `ValueError` otherwise."""
        if self.visible != "bernoulli":
            return
        value = _concrete(v)
        if value is not None and value.size and (np.nanmin(value) < 0 or np.nanmax(value) > 1):
            raise ValueError(
                f"a Bernoulli RBM's visible values must lie in [0, 1]; got values in "
                f"[{float(np.nanmin(value)):.4g}, {float(np.nanmax(value)):.4g}] (scale the data "
                "to [0, 1], or use visible='gaussian' on standardised data)")

    def _read(self, weight):
        """`weight` in the compute dtype (under mixed precision the products run in bfloat16
        or float16; the weights and their updates stay float32)."""
        return ops.cast(weight, self.compute_dtype)

    def _hidden_preactivation(self, v):
        return ops.matmul(v, self._read(self.kernel)) + self._read(self.hidden_bias)

    def _visible_mean(self, h):
        activation = (ops.matmul(h, ops.transpose(self._read(self.kernel)))
                      + self._read(self.visible_bias))
        return ops.sigmoid(activation) if self.visible == "bernoulli" else activation

    def _bernoulli(self, probabilities):
        # The noise is float32 whatever the compute dtype: under mixed bfloat16 a bfloat16
        # uniform is both coarser and slower to draw.
        noise = keras.random.uniform(ops.shape(probabilities), seed=self.seed_generator)
        return ops.cast(noise < ops.cast(probabilities, noise.dtype), probabilities.dtype)

    def _sample_visible_from_mean(self, mean):
        if self.visible == "bernoulli":
            return self._bernoulli(mean)
        return mean + keras.random.normal(ops.shape(mean), dtype=mean.dtype,
                                          seed=self.seed_generator)

    def _visible_term(self, v):
        """The part of the free energy that does not involve the hidden units, per example."""
        if self.visible == "bernoulli":
            return -ops.sum(v * self._read(self.visible_bias), axis=-1)
        return 0.5 * ops.sum(ops.square(v - self._read(self.visible_bias)), axis=-1)

    def _free_energy_from(self, v, preactivation):
        return self._visible_term(v) - ops.sum(ops.softplus(preactivation), axis=-1)

    def free_energy(self, v):
        """`F(v) = -log Σ_h exp(-E(v, h))`, one value per example (shape `(batch,)`)."""
        self._check_visible(v)
        v = ops.convert_to_tensor(v, self.compute_dtype)
        return self._free_energy_from(v, self._hidden_preactivation(v))

    def energy(self, v, h):
        """`E(v, h)`, one value per example."""
        self._check_visible(v)
        v = ops.convert_to_tensor(v, self.compute_dtype)
        h = ops.convert_to_tensor(h, self.compute_dtype)
        return self._visible_term(v) - ops.sum(self._hidden_preactivation(v) * h, axis=-1)

    def hidden_probabilities(self, v):
        """`Q(h = 1 | v) = σ(c + vW)`."""
        self._check_visible(v)
        v = ops.convert_to_tensor(v, self.compute_dtype)
        return ops.sigmoid(self._hidden_preactivation(v))

    def visible_probabilities(self, h):
        """`P(v = 1 | h) = σ(b + Wh)` (Bernoulli); the mean `b + Wh` (Gaussian)."""
        h = ops.convert_to_tensor(h, self.compute_dtype)
        return self._visible_mean(h)

    def sample_hidden(self, v):
        """A binary sample `h ~ Q(h | v)`."""
        return self._bernoulli(self.hidden_probabilities(v))

    def sample_visible(self, h):
        """A sample `v ~ P(v | h)`: binary (Bernoulli) or `N(b + Wh, I)` (Gaussian)."""
        return self._sample_visible_from_mean(self.visible_probabilities(h))

    def gibbs(self, v, steps=1):
        """Run `steps` steps of block Gibbs sampling `v → h → v` from `v`; the last visible state.

        Visible units are sampled at every step, as the chain's definition asks (for
        pictures of a chain, plot `visible_probabilities(sample_hidden(v))` of the result).
        """
        if not isinstance(steps, numbers.Integral) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"gibbs steps must be a positive integer, got {steps!r}")
        self._check_visible(v)
        v = ops.convert_to_tensor(v, self.compute_dtype)
        for _ in range(int(steps)):
            v = self.sample_visible(self.sample_hidden(v))
        return v

    def reconstruct(self, v):
        """The mean-field reconstruction `P(v = 1 | Q(h | v))` (Gaussian: its mean); no sampling."""
        return self._visible_mean(self.hidden_probabilities(v))
