"""Local response normalisation (Krizhevsky, Sutskever & Hinton, 2012, section 3.3)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_dl")
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalisation across channels (AlexNet's "brightness normalization").

    `b[c] = a[c] / (k + α Σ_{j=c-n/2}^{c+n/2} a[j]²)^β`, the sum running over the `n`
    channels adjacent to `c` (fewer at the ends). The paper's constants are `k = 2`, `n = 5`,
    `α = 1e-4`, `β = 0.75`; GoogLeNet uses the same layer after its stem. Note that α here
    multiplies the plain sum, as in the paper (Caffe's LRN divides α by `n`). No parameters.

    Args:
        depth_radius: channels on each side of `c` (the paper's `n = 2 * depth_radius + 1`).
        bias: `k`.
        alpha: `α`.
        beta: `β`.

    Reference:
        Krizhevsky, Sutskever, Hinton. "ImageNet Classification with Deep Convolutional
        Neural Networks", NIPS 2012.
    """

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(depth_radius, int) or isinstance(depth_radius, bool) or depth_radius < 0:
            raise ValueError(f"depth_radius must be a non-negative integer, got {depth_radius!r}")
        for key, value in (("bias", bias), ("alpha", alpha), ("beta", beta)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{key} must be a non-negative number, got {value!r}")
        self.depth_radius = depth_radius
        self.bias = float(bias)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def call(self, inputs):
        squares = ops.square(inputs)
        r = self.depth_radius
        channels = inputs.shape[-1]
        padded = ops.pad(squares, [[0, 0]] * (len(inputs.shape) - 1) + [[r, r]])
        window = padded[..., 0:channels]
        for offset in range(1, 2 * r + 1):
            window = window + padded[..., offset : offset + channels]
        return inputs / ops.power(self.bias + self.alpha * window, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"depth_radius": self.depth_radius, "bias": self.bias,
                       "alpha": self.alpha, "beta": self.beta})
        return config
