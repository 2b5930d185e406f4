"""Random crops of a zero-padded image, one offset per image (He et al. 2016, section 4.2)."""

import keras
from keras import ops

from keras_dl.layers.image_augmentation import ImageAugmentation


@keras.saving.register_keras_serializable(package="keras_dl")
class RandomPaddedCrop(ImageAugmentation):
    """Zero-pads each image by `padding` pixels on every side, then crops a window of the
    original size at a random offset drawn for that image alone.

    The CIFAR augmentation of the ResNet paper (He et al. 2016, section 4.2): "4 pixels are
    padded on each side, and a 32×32 crop is randomly sampled from the padded image". Each of
    the `(2 · padding + 1)²` offsets is equally likely, independently for every image of the
    batch. Keras' `ZeroPadding2D` + `RandomCrop` draws one offset for the whole batch (Keras
    3.15: every image of a batch gets the same window) and XLA cannot compile it; this layer
    gathers each image's window with `keras.ops` and compiles on every backend. Identity at
    inference. Inputs are batches of channels-last images `(batch, height, width, channels)`.

    Args:
        padding: pixels of zeros added on each side (a non-negative integer; 0 is identity).
        seed: seed of the layer's `SeedGenerator`.

    Example:
    ```python
    crop = RandomPaddedCrop(4)
    augmented = crop(batch, training=True)   # same shape, each image shifted by up to 4 px
    ```
    """

    def __init__(self, padding=4, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not isinstance(padding, int) or isinstance(padding, bool) or padding < 0:
            raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
        self.padding = padding

    def call(self, inputs, training=False):
        if not training or self.padding == 0:
            return inputs
        _, height, width, channels = inputs.shape
        padded_height, padded_width = height + 2 * self.padding, width + 2 * self.padding
        batch = ops.shape(inputs)[0]
        pad = (self.padding, self.padding)
        padded = ops.pad(inputs, ((0, 0), pad, pad, (0, 0)))
        offsets = keras.random.randint((batch, 2), 0, 2 * self.padding + 1,
                                       seed=self.seed_generator, dtype="int32")
        rows = offsets[:, 0:1] + ops.arange(height, dtype="int32")[None, :]  # (batch, height)
        cols = offsets[:, 1:2] + ops.arange(width, dtype="int32")[None, :]  # (batch, width)
        first = ops.arange(batch, dtype="int32") * (padded_height * padded_width)
        index = (first[:, None, None] + rows[:, :, None] * padded_width
                 + cols[:, None, :])  # (batch, height, width) into the flattened pixels
        pixels = ops.reshape(padded, (-1, channels))
        return ops.take(pixels, index, axis=0)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding})
        return config
