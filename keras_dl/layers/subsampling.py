"""LeNet-5's trainable sub-sampling layer."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_dl")
class Subsampling2D(keras.layers.Layer):
    """LeNet-5's sub-sampling: a pooled sum times a trainable coefficient, plus a trainable bias.

    Each unit of S2 and S4 "adds its four inputs, multiplies by a trainable coefficient, and adds
    a trainable bias" (LeCun et al. 1998, section II.B) — one coefficient and one bias per feature
    map, so S2 has 12 parameters and S4 has 32. The squashing function is applied by the next
    layer.

    Args:
        pool_size: side of the non-overlapping pooling window (2 in LeNet-5).

    Reference:
        LeCun, Bottou, Bengio, Haffner. "Gradient-Based Learning Applied to Document
        Recognition", Proc. IEEE 86(11), 1998.
    """

    def __init__(self, pool_size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(pool_size, int) or pool_size < 1:
            raise ValueError(f"pool_size must be a positive integer, got {pool_size!r}")
        self.pool_size = pool_size

    def build(self, input_shape):
        channels = input_shape[-1]
        self.coefficient = self.add_weight(
            name="coefficient", shape=(channels,), initializer="ones"
        )
        self.bias = self.add_weight(name="bias", shape=(channels,), initializer="zeros")

    def call(self, inputs):
        window = (self.pool_size, self.pool_size)
        pooled_sum = ops.average_pool(inputs, window, strides=window) * (self.pool_size**2)
        return pooled_sum * self.coefficient + self.bias

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        shrink = lambda size: None if size is None else size // self.pool_size  # noqa: E731
        return (batch, shrink(height), shrink(width), channels)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size})
        return config
