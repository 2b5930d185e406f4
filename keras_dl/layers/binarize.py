"""Binary codes for semantic hashing: noise before the sigmoid in training, a threshold after."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_dl")
class BinaryCode(keras.layers.Layer):
    """Pushes a code layer to 0/1: `sigmoid(a + ε)` in training, `[a > 0]` at inference.

    Takes the code's pre-activations `a`. Lecture 004 on semantic hashing: "adding random
    noise before nonlinearity, so that the units are forced to extremalize their outputs".
    With `ε ~ N(0, σ²)` and σ large, the decoder can only read a unit reliably when `|a|` is
    large, so training drives the sigmoid into saturation; at inference the code is the hard
    threshold, exactly 0 or 1 (the hash). Salakhutdinov & Hinton add deterministic Gaussian
    noise of variance 16 (σ = 4), the default.

    Args:
        noise_stddev: σ ≥ 0 of the noise added in training.
        seed: seed of the noise.

    Example:
    ```python
    logits = keras.layers.Dense(32)(h)
    bits = keras_dl.layers.BinaryCode(4.0)(logits)  # 32-bit hash at inference
    ```

    Reference:
        Salakhutdinov & Hinton. "Semantic hashing", International Journal of Approximate
        Reasoning 50(7), 2009, section 3.
    """

    def __init__(self, noise_stddev=4.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if (isinstance(noise_stddev, bool) or not isinstance(noise_stddev, (int, float))
                or not noise_stddev >= 0):
            raise ValueError(f"BinaryCode noise_stddev must be a non-negative number, "
                             f"got {noise_stddev!r}")
        self.noise_stddev = float(noise_stddev)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training:
            return ops.cast(inputs > 0, inputs.dtype)
        noise = keras.random.normal(ops.shape(inputs), stddev=self.noise_stddev,
                                    seed=self.seed_generator, dtype=inputs.dtype)
        return ops.sigmoid(inputs + noise)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"noise_stddev": self.noise_stddev, "seed": self.seed})
        return config
