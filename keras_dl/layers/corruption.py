"""Corruption processes C(x̃ | x) for denoising autoencoders; active only in training."""

from __future__ import annotations

import keras
from keras import ops



def _check_rate(layer, name, value, upper=1.0):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < upper:
        raise ValueError(f"{layer} {name} must be a number in [0, {upper:g}), got {value!r}")
    return float(value)


class _Corruption(keras.layers.Layer):
    """Shared plumbing: a seed generator, identity at inference."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training:
            return inputs
        return self.corrupt(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="keras_dl")
class GaussianCorruption(_Corruption):
    """Additive isotropic Gaussian noise: `x̃ = x + ε`, `ε ~ N(0, σ² I)`.

    Args:
        stddev: σ, the noise standard deviation (Vincent et al. 2010 use 0.1 to 0.5 on
            inputs scaled to [0, 1]).
        seed: seed of the noise.

    Example:
    ```python
    x_noisy = keras_dl.layers.GaussianCorruption(0.3)(inputs)  # only when training
    ```

    Reference:
        Vincent, Larochelle, Lajoie, Bengio, Manzagol. "Stacked Denoising Autoencoders",
        JMLR 2010, section 4.2 ("additive isotropic Gaussian noise").
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or stddev < 0:
            raise ValueError(f"GaussianCorruption stddev must be a non-negative number, "
                             f"got {stddev!r}")
        self.stddev = float(stddev)

    def corrupt(self, inputs):
        noise = keras.random.normal(ops.shape(inputs), stddev=self.stddev,
                                    seed=self.seed_generator, dtype=inputs.dtype)
        return inputs + noise

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


@keras.saving.register_keras_serializable(package="keras_dl")
class MaskingCorruption(_Corruption):
    """Masking (binomial) noise: each input is set to 0 with probability `rate`.

    Unlike dropout the kept inputs are *not* rescaled: the autoencoder must reconstruct the
    missing values from the others.

    Args:
        rate: ν, the fraction of inputs destroyed (Vincent et al. 2008: 0.25 works well).
        seed: seed of the mask.

    Example:
    ```python
    x_noisy = keras_dl.layers.MaskingCorruption(0.25)(inputs)
    ```

    Reference:
        Vincent, Larochelle, Bengio, Manzagol. "Extracting and composing robust features
        with denoising autoencoders", ICML 2008.
    """

    def __init__(self, rate=0.25, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate("MaskingCorruption", "rate", rate)

    def corrupt(self, inputs):
        keep = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) >= self.rate
        return ops.where(keep, inputs, ops.zeros_like(inputs))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@keras.saving.register_keras_serializable(package="keras_dl")
class SaltAndPepperCorruption(_Corruption):
    """Salt-and-pepper noise: a fraction `rate` of inputs set to `low` or `high` (coin flip).

    Args:
        rate: ν, the fraction of inputs replaced.
        low: the "pepper" value (the minimum of the input range).
        high: the "salt" value (the maximum of the input range).
        seed: seed of the noise.

    Example:
    ```python
    x_noisy = keras_dl.layers.SaltAndPepperCorruption(0.1)(inputs)
    ```

    Reference:
        Vincent et al. "Stacked Denoising Autoencoders", JMLR 2010, section 4.2.
    """

    def __init__(self, rate=0.1, low=0.0, high=1.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate("SaltAndPepperCorruption", "rate", rate)
        if not float(low) < float(high):
            raise ValueError(f"SaltAndPepperCorruption needs low < high, got low={low!r}, "
                             f"high={high!r}")
        self.low, self.high = float(low), float(high)

    def corrupt(self, inputs):
        shape = ops.shape(inputs)
        hit = keras.random.uniform(shape, seed=self.seed_generator) < self.rate
        salt = keras.random.uniform(shape, seed=self.seed_generator) < 0.5
        value = ops.where(salt, ops.full_like(inputs, self.high), ops.full_like(inputs, self.low))
        return ops.where(hit, value, inputs)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "low": self.low, "high": self.high}


CORRUPTIONS = {"gaussian": GaussianCorruption, "masking": MaskingCorruption,
               "salt_and_pepper": SaltAndPepperCorruption}


def corruption_layer(kind, level, *, seed=None, name=None):
    """The corruption layer `kind` ("gaussian", "masking", "salt_and_pepper") at `level`.

    `level` is the Gaussian σ or the fraction of inputs masked / replaced.
    """
    if kind not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {kind!r}; allowed: {', '.join(CORRUPTIONS)}")
    return CORRUPTIONS[kind](level, seed=seed, name=name)
