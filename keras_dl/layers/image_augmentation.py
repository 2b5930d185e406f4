"""What keras_dl's own image augmentation layers share."""

import math

import keras


class ImageAugmentation(keras.layers.Layer):
    """Base of `RandomPaddedCrop`, `RandomErasing` and `RandomPerspective`: a layer that
    takes batches of channels-last images of known size, returns the same shape, draws its
    randomness from a seeded `SeedGenerator`, and is the identity at inference (each
    subclass's `call` returns its inputs unless `training`)."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if len(input_shape) != 4 or None in tuple(input_shape[1:]):
            raise ValueError(
                f"{type(self).__name__} needs batches of images (batch, height, width, "
                f"channels) with known height, width and channels, got shape "
                f"{tuple(input_shape)}"
            )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config


def is_number(value):
    """A finite int or float (not a bool): what the layers' numeric arguments must be."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))
