"""The Jacobian of an encoder, `∂h/∂x`, and its Frobenius norm, by automatic differentiation.

`jacobian_frobenius_norm(encoder, x)` measures `‖∂h/∂x‖_F` per example for any encoder with
TensorFlow's `GradientTape.batch_jacobian` (backend-specific, so it lives here, not in a
layer). It checks `keras_dl.layers.ContractiveActivation`'s closed form and compares
contractive and plain autoencoders in `apps/autoencoders.py` (Rifai, Vincent, Muller, Glorot
& Bengio, "Contractive Auto-Encoders", ICML 2011: the norm their penalty shrinks).
"""

from __future__ import annotations

import keras
import numpy as np


def encoder_jacobian(encoder: keras.Model, x) -> np.ndarray:
    """Per-example Jacobians `∂h/∂x`, shape `(batch, code size, input size)` (flattened)."""
    import tensorflow as tf

    x = tf.constant(np.asarray(x, dtype="float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = encoder(x, training=False)
        h = tf.reshape(h, (tf.shape(h)[0], -1))
    jacobian = tape.batch_jacobian(h, x)
    return np.asarray(tf.reshape(jacobian, (x.shape[0], h.shape[-1], -1)))


def jacobian_frobenius_norm(encoder: keras.Model, x, batch_size: int = 64) -> np.ndarray:
    """`‖∂h/∂x‖_F` of `encoder` at each example of `x`, by automatic differentiation: the
    norm whose square the contractive autoencoder penalises (Rifai et al., ICML 2011)."""
    x = np.asarray(x, dtype="float32")
    norms = [np.sqrt(np.sum(np.square(encoder_jacobian(encoder, x[i:i + batch_size])),
                            axis=(1, 2)))
             for i in range(0, len(x), batch_size)]
    return np.concatenate(norms)
