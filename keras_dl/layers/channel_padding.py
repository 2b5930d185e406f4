"""The parameter-free "option A" shortcut of the CIFAR ResNets (He et al., 2016, section 4.2)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_dl")
class ChannelPadding(keras.layers.Layer):
    """Zero-pads the channel axis (NHWC) from `C` to `C + extra` channels.

    With a stride-2 subsampling before it this is the identity shortcut "with extra zero
    entries padded for increasing dimensions" (He et al., 2016, option A), which keeps the
    CIFAR ResNets at 0.27M (ResNet-20) to 1.7M (ResNet-110) parameters. The zeros are split
    between both ends of the channel axis.

    Args:
        extra: number of zero channels to add.
    """

    def __init__(self, extra, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(extra, int) or isinstance(extra, bool) or extra < 0:
            raise ValueError(f"extra must be a non-negative integer, got {extra!r}")
        self.extra = extra

    def call(self, inputs):
        before = self.extra // 2
        pads = [[0, 0]] * (len(inputs.shape) - 1) + [[before, self.extra - before]]
        return ops.pad(inputs, pads)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], None if input_shape[-1] is None else input_shape[-1] + self.extra)

    def get_config(self):
        config = super().get_config()
        config.update({"extra": self.extra})
        return config
