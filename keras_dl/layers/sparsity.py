"""The sparsity penalty λ Σ_i |h_i| of a sparse autoencoder, added by a pass-through layer."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_dl")
class SparsityPenalty(keras.layers.Layer):
    """Passes `h` through and adds `λ · mean_batch Σ_i |h_i|` as a loss.

    Lecture 004's sparse autoencoder: `L(x, g(f(x))) + Σ_i λ|h_i|`. The batch mean makes λ
    independent of the batch size. (Keras' `activity_regularizer` computes the same, but its
    inference graph does not convert to ONNX; this layer's does.)

    Args:
        weight: λ ≥ 0.

    Example:
    ```python
    h = keras_dl.layers.SparsityPenalty(1e-3)(keras.layers.Dense(256, "relu")(x))
    ```

    Reference:
        Goodfellow, Bengio, Courville. "Deep Learning", MIT Press 2016, section 14.2.1.
    """

    def __init__(self, weight=1e-3, **kwargs):
        super().__init__(**kwargs)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
            raise ValueError(f"SparsityPenalty weight must be a non-negative number, "
                             f"got {weight!r}")
        self.weight = float(weight)

    def call(self, inputs):
        if self.weight:
            flat = ops.reshape(inputs, (ops.shape(inputs)[0], -1))
            self.add_loss(self.weight * ops.mean(ops.sum(ops.abs(flat), axis=-1)))
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}
